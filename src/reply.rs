//! What the bot says, as plain data: a [`Reply`] made of [`Rich`] text, fields and a footer.
//!
//! The command layer builds replies; front ends render them (the Discord layer into embeds, the
//! console into text). Text here is never pre-escaped or pre-formatted for any chat: a renderer
//! escapes [`Inline::Text`] for its medium and decides how to show [`Inline::Strong`] and links.

/// A run of inline content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text, shown literally whatever characters it contains.
    Text(String),
    /// Emphasised text (matched words in a snippet).
    Strong(String),
    /// A link with its visible text.
    Link {
        /// Visible text.
        text: String,
        /// Target; always an absolute http(s) URL from the corpus or config.
        url: String,
    },
}

/// A sequence of inline runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rich(pub Vec<Inline>);

impl Rich {
    /// Empty text.
    pub fn new() -> Self {
        Rich(Vec::new())
    }
    /// Plain text.
    pub fn plain(s: impl Into<String>) -> Self {
        Rich(vec![Inline::Text(s.into())])
    }
    /// Appends plain text.
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Text(s.into()));
        self
    }
    /// Appends emphasised text.
    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Strong(s.into()));
        self
    }
    /// Appends a link.
    pub fn link(mut self, text: impl Into<String>, url: impl Into<String>) -> Self {
        self.0.push(Inline::Link {
            text: text.into(),
            url: url.into(),
        });
        self
    }
    /// Appends all runs of `other`.
    pub fn append(mut self, other: Rich) -> Self {
        self.0.extend(other.0);
        self
    }
    /// The visible text without any formatting.
    pub fn plain_text(&self) -> String {
        self.0
            .iter()
            .map(|i| match i {
                Inline::Text(t) | Inline::Strong(t) => t.as_str(),
                Inline::Link { text, .. } => text.as_str(),
            })
            .collect()
    }
}

/// A titled block of a reply (a Discord embed field; a paragraph in the console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Heading, plain text.
    pub name: String,
    /// Content.
    pub value: Rich,
}

/// The kind of reply, which a renderer may show as a colour or an icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A cited answer.
    Answer,
    /// The corpus does not cover the question.
    NotCovered,
    /// Lists, help and confirmations.
    Info,
    /// Something was refused or failed.
    Error,
    /// Signposting to support.
    Support,
}

/// One message from the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Only the person who asked may see it (Discord: ephemeral).
    pub private: bool,
    /// How to present it.
    pub tone: Tone,
    /// Heading, plain text.
    pub title: Option<String>,
    /// The user's own words echoed back (always shown literally, never as markup).
    pub echo: Option<String>,
    /// Main text.
    pub body: Rich,
    /// Titled blocks in order.
    pub fields: Vec<Field>,
    /// Small print.
    pub footer: Option<String>,
    /// The trust asked to be told (anonymously) when someone is shown crisis support: a front
    /// end that can post to the configured private channel does so. Carries no identity.
    pub escalate: bool,
    /// An answer that can be voted on: the id a "Helpful" / "Not helpful" control sends back
    /// (`/feedback`). Never set on a support or crisis reply.
    pub feedback: Option<String>,
    /// A declined question the asker may send to the OH team: the id a "Send to the OH team"
    /// control sends back (`/forward`). Only when `[escalation] channel_id` is set; never on a
    /// support or crisis reply.
    pub forward_offer: Option<String>,
    /// Text to post to the OH team's channel (`[escalation] channel_id`) now that the asker
    /// chose to send their question. Carries their name only if they asked for it.
    pub forward: Option<String>,
}

impl Reply {
    /// A private reply with just a body.
    pub fn private(tone: Tone, body: Rich) -> Self {
        Reply {
            private: true,
            tone,
            title: None,
            echo: None,
            body,
            fields: Vec::new(),
            footer: None,
            escalate: false,
            feedback: None,
            forward_offer: None,
            forward: None,
        }
    }

    /// The whole reply as plain text, for logs-free tests and the console.
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.title {
            s.push_str(t);
            s.push('\n');
        }
        if let Some(e) = &self.echo {
            s.push_str(e);
            s.push('\n');
        }
        s.push_str(&self.body.plain_text());
        for f in &self.fields {
            s.push('\n');
            s.push_str(&f.name);
            s.push('\n');
            s.push_str(&f.value.plain_text());
        }
        if let Some(f) = &self.footer {
            s.push('\n');
            s.push_str(f);
        }
        s
    }
}
