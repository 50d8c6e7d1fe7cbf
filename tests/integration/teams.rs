//! Microsoft Teams through the real `serve` binary and a fake Bot Framework: a signed activity
//! answered with a card that cites, through the connector with a client-credentials token;
//! bad signature, unknown key, wrong audience or issuer, expired token, a token for another
//! service URL and a disallowed service URL all refused with nothing sent; distress asked in a
//! channel answered only in the personal chat; the feedback button recorded.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::real_config;
use crate::fake_teams::{
    claims, stranger_jwk, stranger_key, token, trusted_key, FakeBotFramework, APP_ID,
    CONNECTOR_TOKEN, PERSONAL_CHAT,
};
use crate::interactions::serve_process;
use crate::monitoring::{free_addr, request};
use ohwb_bot::teams::auth::{AuthError, Authenticator};

/// `ohwb-bot serve` with Discord off and Teams through `fake`.
struct TeamsServe {
    _child: tokio::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl TeamsServe {
    async fn start(fake: &FakeBotFramework) -> TeamsServe {
        let dir = tempfile::tempdir().unwrap();
        let cfg = real_config();
        let addr = free_addr();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[paths]\ncorpus = {:?}\nindex = {:?}\nmodel = {:?}\n\n[discord]\nmode = \"off\"\n\n\
                 [http]\nlisten = {addr:?}\n\n[teams]\napp_id = {APP_ID:?}\n\
                 openid_metadata_url = {:?}\ntoken_url = \"{}/token\"\n\
                 allowed_service_urls = [{:?}]\n",
                cfg.paths.corpus,
                cfg.paths.index,
                cfg.paths.model,
                fake.openid_url(),
                fake.url,
                fake.service_url(),
            ),
        )
        .unwrap();
        let child = serve_process(&config, &addr, &[("TEAMS_APP_SECRET", "s3cret-from-env")]).await;
        TeamsServe {
            _child: child,
            addr,
            _dir: dir,
        }
    }

    /// POSTs `activity` with `authorization` (none when `None`): (status, body).
    async fn post(&self, activity: &Value, authorization: Option<&str>) -> (u16, String) {
        let body = activity.to_string();
        let auth = authorization
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let raw = format!(
            "POST /api/messages HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        request(&self.addr, &raw).await
    }
}

/// A message activity from Sam, in a personal chat or a channel thread.
fn message(fake: &FakeBotFramework, text: &str, personal: bool) -> Value {
    let (conversation, kind) = if personal {
        ("a:1:sam-personal", "personal")
    } else {
        ("19:general@thread.tacv2;messageid=1700000000000", "channel")
    };
    json!({
        "type": "message",
        "id": "1700000000001",
        "serviceUrl": fake.service_url(),
        "channelId": "msteams",
        "from": {"id": "29:sam", "name": "Sam Example", "aadObjectId": "aad-sam"},
        "recipient": {"id": "28:bot", "name": "OHWB bot"},
        "conversation": {"id": conversation, "conversationType": kind, "tenantId": "tenant-1"},
        "channelData": {"tenant": {"id": "tenant-1"}},
        "text": text,
    })
}

/// Every text run of a card, joined.
fn card_text(activity: &Value) -> String {
    let card = &activity["attachments"][0]["content"];
    let mut out = Vec::new();
    for block in card["body"].as_array().into_iter().flatten() {
        for run in block["inlines"].as_array().into_iter().flatten() {
            out.push(run["text"].as_str().unwrap_or_default().to_string());
        }
        out.push("\n".into());
    }
    out.concat()
}

fn links(activity: &Value) -> Vec<String> {
    let card = &activity["attachments"][0]["content"];
    card["body"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["inlines"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["selectAction"]["url"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_activity_is_answered_with_a_card_and_anything_forged_is_refused() {
    let fake = FakeBotFramework::start().await;
    let bot = TeamsServe::start(&fake).await;
    let good = token(&claims(&fake.service_url()), &trusted_key(), "trusted-key");

    // A question in the personal chat: one reply, to that activity, with the connector token.
    let q = message(&fake, "what is the people promise?", true);
    assert_eq!(bot.post(&q, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].path,
        "/v3/conversations/a%3A1%3Asam%2Dpersonal/activities/1700000000001"
    );
    assert_eq!(calls[0].auth, format!("Bearer {CONNECTOR_TOKEN}"));
    let answer = &calls[0].body;
    // Addressed as the Bot Framework SDKs address a reply, with ids only.
    assert_eq!(answer["replyToId"], "1700000000001");
    assert_eq!(answer["from"], json!({"id": "28:bot"}));
    assert_eq!(answer["recipient"], json!({"id": "29:sam"}));
    assert_eq!(answer["conversation"]["id"], "a:1:sam-personal");
    let text = card_text(answer);
    assert!(text.contains("[1]"), "cites: {text}");
    assert!(
        links(answer).iter().any(|l| l.starts_with("https://")),
        "a citation links to its source: {answer}"
    );
    let actions = answer["attachments"][0]["content"]["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(actions.len(), 2, "Helpful / Not helpful: {answer}");
    assert!(
        !answer.to_string().contains("msteams"),
        "no mention entities"
    );

    // The client-credentials flow used the app id and the secret from the environment, once.
    let forms = fake.token_forms();
    assert_eq!(forms.len(), 1, "{forms:?}");
    assert!(forms[0].contains("grant_type=client_credentials"));
    assert!(forms[0].contains(&format!("client_id={APP_ID}")));
    assert!(forms[0].contains("client_secret=s3cret-from-env"));

    // The "Not helpful" button comes back as a message whose value is the button's data.
    let mut press = message(&fake, "", true);
    press["value"] = actions[1]["data"].clone();
    assert_eq!(bot.post(&press, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(2).await;
    assert!(
        card_text(&calls[1].body).contains("feedback was recorded"),
        "{:?}",
        calls[1].body
    );

    // `help` as a word: help for a conversation, not for slash commands.
    let help = message(&fake, "help", true);
    assert_eq!(bot.post(&help, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(3).await;
    let help = card_text(&calls[2].body);
    assert!(
        help.contains("@mention me") && !help.contains("/ask"),
        "{help}"
    );

    // Installed in a personal chat: it introduces itself, into the chat (not as a reply).
    let mut installed = message(&fake, "", true);
    installed["type"] = json!("conversationUpdate");
    installed["membersAdded"] = json!([{"id": "28:bot"}]);
    assert_eq!(bot.post(&installed, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(4).await;
    assert_eq!(
        calls[3].path,
        "/v3/conversations/a%3A1%3Asam%2Dpersonal/activities"
    );
    assert!(card_text(&calls[3].body).contains("@mention me"));

    // Refused, and nothing sent: no token, a key nobody published, a published key id on a
    // token the key did not sign, another app's token, another issuer, expired beyond the
    // skew, a token minted for another service URL.
    let before = fake.calls().len();
    let mut refused: Vec<(&str, Option<String>)> = vec![("no token", None)];
    refused.push((
        "unknown key",
        Some(token(
            &claims(&fake.service_url()),
            &stranger_key(),
            "stranger-key",
        )),
    ));
    refused.push((
        "bad signature",
        Some(token(
            &claims(&fake.service_url()),
            &stranger_key(),
            "trusted-key",
        )),
    ));
    let changed = |field: &str, value: Value| {
        let mut c = claims(&fake.service_url());
        c[field] = value;
        Some(token(&c, &trusted_key(), "trusted-key"))
    };
    refused.push(("wrong audience", changed("aud", json!("another-bot"))));
    refused.push((
        "wrong issuer",
        changed("iss", json!("https://evil.example")),
    ));
    let now = claims("")["nbf"].as_u64().unwrap() + 10;
    refused.push(("expired", changed("exp", json!(now - 600))));
    refused.push((
        "token for another service URL",
        changed("serviceurl", json!("https://smba.trafficmanager.net/uk/")),
    ));
    for (why, t) in &refused {
        let (status, _) = bot.post(&q, t.as_deref()).await;
        assert_eq!(status, 401, "{why}");
    }

    // A valid token minted for a service URL that is not allowed: refused before anything runs.
    let evil = "https://smba.trafficmanager.net.evil.example/";
    let mut elsewhere = message(&fake, "what is the people promise?", true);
    elsewhere["serviceUrl"] = json!(evil);
    let t = token(&claims(evil), &trusted_key(), "trusted-key");
    assert_eq!(bot.post(&elsewhere, Some(&t)).await.0, 403);
    assert_eq!(
        fake.calls().len(),
        before,
        "nothing sent for a refused activity"
    );

    // Still one token for every reply so far (it is cached until shortly before expiry).
    assert_eq!(fake.token_forms().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distress_in_a_channel_is_answered_only_in_the_personal_chat() {
    let fake = FakeBotFramework::start().await;
    let bot = TeamsServe::start(&fake).await;
    let good = token(&claims(&fake.service_url()), &trusted_key(), "trusted-key");

    let m = message(
        &fake,
        "<at>OHWB bot</at> i cant do this anymore, i want to end my life tonight",
        false,
    );
    assert_eq!(bot.post(&m, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(3).await;
    assert_eq!(calls.len(), 3, "{calls:?}");
    // 1. The personal chat with Sam is opened, in Sam's tenant.
    assert_eq!(calls[0].path, "/v3/conversations");
    assert_eq!(calls[0].body["members"][0]["id"], "29:sam");
    assert_eq!(calls[0].body["bot"]["id"], "28:bot");
    assert_eq!(calls[0].body["tenantId"], "tenant-1");
    // 2. The crisis reply goes there.
    assert_eq!(
        calls[1].path,
        format!(
            "/v3/conversations/{}/activities",
            PERSONAL_CHAT.replace(':', "%3A").replace('-', "%2D")
        )
    );
    let crisis = card_text(&calls[1].body);
    assert!(crisis.contains("Samaritans"), "{crisis}");
    // 3. The channel thread hears only that a private message was sent.
    assert!(calls[2].path.starts_with("/v3/conversations/19%3Ageneral"));
    let public = calls[2].body.to_string();
    assert!(public.contains(ohwb_bot::teams::SENT_PRIVATELY), "{public}");
    assert!(
        !public.contains("Samaritans") && !public.contains("end my life"),
        "{public}"
    );

    // An ordinary question in the channel is answered in its thread, citing.
    let q = message(
        &fake,
        "<at>OHWB bot</at> what is the people promise?",
        false,
    );
    assert_eq!(bot.post(&q, Some(&good)).await.0, 200);
    let calls = fake.wait_calls(4).await;
    assert!(calls[3].path.starts_with("/v3/conversations/19%3Ageneral"));
    assert!(card_text(&calls[3].body).contains("[1]"));
}

async fn check(service: &str, a: &Authenticator, token: &str) -> Result<(), AuthError> {
    a.check(Some(&format!("Bearer {token}")), service, "msteams")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_again_for_an_unknown_key_id_but_not_too_often() {
    let fake = FakeBotFramework::start().await;
    let service = fake.service_url();
    let client = reqwest::Client::new();
    let eager = Authenticator::new(APP_ID, &fake.openid_url(), client.clone(), Duration::ZERO);
    let patient = Authenticator::new(
        APP_ID,
        &fake.openid_url(),
        client,
        Duration::from_secs(3600),
    );
    let trusted = token(&claims(&service), &trusted_key(), "trusted-key");
    let rotated = token(&claims(&service), &stranger_key(), "stranger-key");
    assert_eq!(check(&service, &eager, &trusted).await, Ok(()));
    assert_eq!(check(&service, &patient, &trusted).await, Ok(()));
    assert_eq!(
        check(&service, &eager, &rotated).await,
        Err(AuthError::UnknownKey)
    );
    let fetches = fake.key_fetches();

    // The Bot Framework rotates in a new key.
    fake.publish(stranger_jwk());
    assert_eq!(
        check(&service, &eager, &rotated).await,
        Ok(()),
        "unknown kid refetches"
    );
    assert_eq!(fake.key_fetches(), fetches + 1);
    assert_eq!(
        check(&service, &patient, &rotated).await,
        Err(AuthError::UnknownKey),
        "within min_refresh the keys are not fetched again"
    );
    assert_eq!(fake.key_fetches(), fetches + 1);
    // Endorsements: the test keys are endorsed for msteams only.
    let header = format!("Bearer {trusted}");
    assert_eq!(
        eager.check(Some(&header), &service, "webchat").await,
        Err(AuthError::NotEndorsed)
    );
}

#[test]
fn the_teams_package_template_names_the_bot_and_its_icons() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/teams");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["id"], "{{APP_ID}}");
    assert_eq!(
        manifest["bots"][0]["botId"], "{{APP_ID}}",
        "the bot is the app"
    );
    let scopes = manifest["bots"][0]["scopes"].to_string();
    assert!(
        scopes.contains("personal") && scopes.contains("team"),
        "{scopes}"
    );
    // Teams wants a 192x192 colour icon and a 32x32 outline, both PNG.
    for (key, side) in [("color", 192u32), ("outline", 32)] {
        let file = manifest["icons"][key].as_str().unwrap();
        let png = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{file}");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), (side, side), "{file}");
    }
}
