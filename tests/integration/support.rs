use crate::common::{corpus_dir, real_config, real_index_dir};
use ohwb_bot::commands::{Bot, Caller, Invocation};
use ohwb_bot::config::Config;
use ohwb_bot::reply::{Reply, Tone};

fn staff() -> Caller {
    Caller {
        roles: vec![],
        in_guild: true,
        operator: false,
        name: "Staff Member".into(),
        // Not rate-limited: these tests ask many questions in a row.
        person_key: String::new(),
    }
}

fn ask(bot: &Bot, question: &str, share: bool) -> (bool, Reply) {
    let line = format!("/ask {question}{}", if share { " share:true" } else { "" });
    let inv = Invocation::parse(&line, staff()).unwrap();
    (bot.is_private(&inv), bot.execute(&inv).unwrap())
}

fn with_support() -> Config {
    let mut c = real_config();
    c.support.oh_team = "Anytown NHS Trust Occupational Health".into();
    c.support.phone = "01234 567890".into();
    c.support.email = "oh@anytown.example".into();
    c.support.eap_provider = "Care First".into();
    c.support.eap_phone = "0800 000 0000".into();
    c.support.hours = "Monday to Friday, 8am to 5pm".into();
    c.support.intranet_url = "https://intranet.anytown.example/wellbeing".into();
    c
}

/// Ways staff write when they are in distress, including misspellings, no capitals and no
/// punctuation. Every one must get the crisis reply first.
const DISTRESS: &[&str] = &[
    "I can't go on anymore",
    "i cant go on",
    "cant cope any more with work and home",
    "I want to kill myself",
    "i want to end it all",
    "ive been thinking about suicide",
    "feeling suicidal after my shift",
    "sucidal thoughts again",
    "SUICIDE",
    "i keep self harming",
    "I've been hurting myself",
    "I'm scared I might hurt someone at work",
    "my partner hits me and I don't know who to tell",
    "i dont want to be here anymore",
    "everyone would be better off without me",
    "I did suicide prevention training but now I want to end it all",
];

/// Work senses and strategy questions: none may get the crisis reply.
const ORDINARY: &[&str] = &[
    "how does the strategy reduce stress at work",
    "what does the strategy say about pressure on OH services",
    "does OH prevent harm caused by work",
    "is there suicide prevention training for managers",
    "what is suicide awareness training",
    "our self harm policy for ward staff",
    "how is work related stress measured",
    "what are the four strategic drivers",
    "domestic abuse training for HR teams",
    "what does the pharmacy team do",
];

#[test]
fn distress_always_gets_the_private_crisis_reply_first() {
    let bot = Bot::open(with_support()).unwrap();
    let heading = bot.config().crisis.heading.clone();
    for q in DISTRESS {
        for share in [false, true] {
            let (private, reply) = ask(&bot, q, share);
            assert!(
                private && reply.private,
                "{q:?} share={share} must stay private"
            );
            assert_eq!(reply.tone, Tone::Support, "{q:?}");
            assert_eq!(reply.title.as_deref(), Some(heading.as_str()), "{q:?}");
            assert!(reply.echo.is_none(), "the question is not echoed back");
            let text = reply.plain_text();
            assert!(
                text.contains("999") && text.contains("NHS 111") && text.contains("116 123"),
                "{text}"
            );
            assert!(
                !text.contains("Read the source"),
                "no strategy citation: {text}"
            );
            assert!(text.contains("/ask"), "still points to the rest of the bot");
        }
    }
}

#[test]
fn work_senses_and_strategy_questions_do_not_trigger_it() {
    let bot = Bot::open(real_config()).unwrap();
    for q in ORDINARY {
        let (_, reply) = ask(&bot, q, false);
        assert_ne!(
            reply.tone,
            Tone::Support,
            "{q:?} got a support reply: {}",
            reply.plain_text()
        );
    }
}

#[test]
fn help_questions_lead_with_local_contacts_then_national_passages() {
    let bot = Bot::open(with_support()).unwrap();
    for q in [
        "where can I get support for stress",
        "I'm struggling, who can I talk to?",
        "is there counselling for staff",
        "does my trust have an EAP",
    ] {
        let (_, reply) = ask(&bot, q, false);
        assert_eq!(reply.tone, Tone::Support, "{q}");
        assert_eq!(reply.title.as_deref(), Some("Getting support"), "{q}");
        assert_eq!(
            reply.fields[0].name, "Your trust's support",
            "{q}: local contacts come first"
        );
        let local = reply.fields[0].value.plain_text();
        assert!(
            local.contains("01234 567890") && local.contains("Care First, 0800 000 0000"),
            "{local}"
        );
        assert!(reply.fields.len() >= 2, "{q}: national passages follow");
        assert!(
            reply.fields[1]
                .name
                .starts_with("[1] Getting support as NHS staff › "),
            "{q}: {}",
            reply.fields[1].name
        );
        assert!(reply.footer.as_deref().unwrap().contains("116 123"));
    }
    // Without local contacts configured, the reply says where to look instead.
    let plain = Bot::open(real_config()).unwrap();
    let (_, reply) = ask(&plain, "where can I get support for stress", false);
    assert!(
        reply
            .body
            .plain_text()
            .contains("check your trust's intranet"),
        "{}",
        reply.plain_text()
    );
    assert!(reply.fields[0]
        .name
        .starts_with("[1] Getting support as NHS staff"));
}

#[test]
fn a_declined_question_routes_to_the_trusts_oh_team_not_a_dead_end() {
    let bot = Bot::open(with_support()).unwrap();
    let (_, reply) = ask(&bot, "how do I change my pension contributions", false);
    assert_eq!(reply.tone, Tone::NotCovered, "{}", reply.plain_text());
    let person = reply
        .fields
        .iter()
        .find(|f| f.name == "Ask a person")
        .unwrap_or_else(|| panic!("no route to a person: {}", reply.plain_text()));
    let text = person.value.plain_text();
    assert!(
        text.contains("Anytown NHS Trust Occupational Health") && text.contains("01234 567890"),
        "{text}"
    );
    // No citation comes with a decline: the only field is the route to a person.
    assert_eq!(reply.fields.len(), 1, "{}", reply.plain_text());

    // Without contacts configured it still says where to look.
    let plain = Bot::open(real_config()).unwrap();
    let (_, reply) = ask(&plain, "how do I change my pension contributions", false);
    let person = reply.fields.iter().find(|f| f.name == "Ask a person");
    assert!(
        person.is_some_and(|f| f.value.plain_text().contains("check your trust's intranet")),
        "{}",
        reply.plain_text()
    );
    // A question too long to answer is not "not covered": it is asked again, shorter.
    let (_, long) = ask(&bot, &"occupational health ".repeat(80), false);
    assert!(long.fields.iter().all(|f| f.name != "Ask a person"));
}

#[test]
fn historical_and_unverified_services_are_never_given_as_current() {
    let corpus = ohwb_bot::corpus::load(&corpus_dir()).unwrap();
    let doc = corpus
        .documents
        .iter()
        .find(|d| d.slug == ohwb_bot::commands::SUPPORT_DOC)
        .unwrap();
    let text: String = doc
        .passages
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Numbers of lines whose current status is not verified never appear.
    for number in ["0300 131 7000", "85258", "0300 303 4434", "FRONTLINE"] {
        assert!(!text.contains(number), "{number} must not be given");
    }
    let historical = doc
        .passages
        .iter()
        .find(|p| p.section[0].contains("historical"))
        .unwrap();
    assert!(historical.text.contains("not confirmed"));
    let closed = doc
        .passages
        .iter()
        .find(|p| p.section[0].contains("closed"))
        .unwrap();
    assert!(closed.text.contains("discontinued"));
}

#[test]
fn the_cli_gives_crisis_signposting_too_and_check_warns_about_missing_contacts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
        .arg("--corpus")
        .arg(corpus_dir())
        .arg("--index")
        .arg(real_index_dir())
        .args(["ask", "--json", "i cant go on"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["answered"], false);
    assert_eq!(v["citations"].as_array().unwrap().len(), 0);
    assert!(v["answer"].as_str().unwrap().contains("116 123"));

    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ohwb-bot"))
        .current_dir(empty.path())
        .arg("--corpus")
        .arg(corpus_dir())
        .arg("check")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[support] in the config is empty"));
}
