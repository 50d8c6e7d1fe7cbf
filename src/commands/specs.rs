//! Every command the bot offers, as data: names, descriptions and options, which Discord
//! registers and the console parses. Adding a command starts here.
//!
//! Invariant: descriptions are at most 100 characters (Discord's limit), and a command has
//! either options or subcommands, never both.

/// The type of a command option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text.
    String,
    /// true / false.
    Boolean,
    /// A whole number (at least 1).
    Integer,
}

/// One option of a command, as a chat registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Shown to users (≤ 100 chars).
    pub description: &'static str,
    /// Type.
    pub kind: OptionKind,
    /// Must be given.
    pub required: bool,
    /// Offers suggestions while typing.
    pub autocomplete: bool,
    /// Longest accepted value, for strings.
    pub max_length: Option<u16>,
}

/// A command (or subcommand) definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Lowercase name, without the slash.
    pub name: &'static str,
    /// Shown to users (≤ 100 chars).
    pub description: &'static str,
    /// Options, required ones first. Empty when the command has subcommands.
    pub options: Vec<OptionSpec>,
    /// Subcommands (`/resource add`); a command has either these or options.
    pub subcommands: Vec<CommandSpec>,
    /// Offered as a slash command. False for `/feedback`, which chats reach through the
    /// "Helpful" / "Not helpful" buttons under an answer (the console types it).
    pub registered: bool,
}

fn opt(
    name: &'static str,
    description: &'static str,
    kind: OptionKind,
    required: bool,
) -> OptionSpec {
    OptionSpec {
        name,
        description,
        kind,
        required,
        autocomplete: false,
        max_length: None,
    }
}

fn text_opt(name: &'static str, description: &'static str, required: bool, max: u16) -> OptionSpec {
    OptionSpec {
        max_length: Some(max),
        ..opt(name, description, OptionKind::String, required)
    }
}

fn command(name: &'static str, description: &'static str, options: Vec<OptionSpec>) -> CommandSpec {
    CommandSpec {
        name,
        description,
        options,
        subcommands: Vec::new(),
        registered: true,
    }
}

/// Longest question accepted from a chat (Discord's own option limit is 6000).
pub const MAX_QUESTION_CHARS: u16 = 6000;

/// Every command the bot offers.
pub fn specs() -> Vec<CommandSpec> {
    vec![
        command(
            "ask",
            "Ask about the Growing Occupational Health and Wellbeing Together strategy",
            vec![
                text_opt(
                    "question",
                    "Your question, in your own words",
                    true,
                    MAX_QUESTION_CHARS,
                ),
                OptionSpec {
                    autocomplete: true,
                    ..text_opt("source", "Only search this document", false, 100)
                },
                opt(
                    "share",
                    "Post the answer for everyone in the channel (default: only you see it)",
                    OptionKind::Boolean,
                    false,
                ),
            ],
        ),
        command(
            "sources",
            "List the documents the bot answers from",
            Vec::new(),
        ),
        CommandSpec {
            name: "resource",
            description: "Resource links posted by the OH team",
            options: Vec::new(),
            registered: true,
            subcommands: vec![
                command(
                    "add",
                    "Post a resource link (OH team)",
                    vec![
                        text_opt("url", "The link, starting with https://", true, 2048),
                        text_opt("title", "A short title (up to 200 characters)", true, 200),
                        text_opt(
                            "summary",
                            "What it is and who it is for (up to 2000 characters)",
                            true,
                            2000,
                        ),
                        text_opt(
                            "tags",
                            "Comma-separated tags, e.g. msk, mental health",
                            false,
                            400,
                        ),
                    ],
                ),
                command(
                    "list",
                    "List posted resources",
                    vec![
                        text_opt("tag", "Only resources with this tag", false, 40),
                        opt("page", "Page number", OptionKind::Integer, false),
                    ],
                ),
                command(
                    "remove",
                    "Remove a posted resource (OH team)",
                    vec![OptionSpec {
                        autocomplete: true,
                        ..text_opt(
                            "id",
                            "The resource's id (start typing its title)",
                            true,
                            100,
                        )
                    }],
                ),
            ],
        },
        command(
            "reindex",
            "Rebuild the search index from the corpus (admin)",
            Vec::new(),
        ),
        command(
            "report",
            "Replies per day, unhelpful passages, what declined questions ask about (admin)",
            vec![opt(
                "days",
                "Days to cover (default 30)",
                OptionKind::Integer,
                false,
            )],
        ),
        CommandSpec {
            registered: false,
            ..command(
                "feedback",
                "Was the last answer helpful? /feedback up or /feedback down",
                vec![
                    text_opt("vote", "up or down", true, 10),
                    text_opt(
                        "answer",
                        "The answer's id (the console fills it in)",
                        false,
                        64,
                    ),
                ],
            )
        },
        CommandSpec {
            registered: false,
            ..command(
                "forward",
                "Send a question the documents do not cover to the OH team",
                vec![
                    text_opt("id", "The offer under the answer", true, 64),
                    opt("name", "Include my name", OptionKind::Boolean, false),
                ],
            )
        },
        command("help", "How to use this bot", Vec::new()),
    ]
}
