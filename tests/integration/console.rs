use crate::common::real_config;
use ohwb_bot::commands::Bot;
use ohwb_bot::console;

fn run(input: &str) -> String {
    let bot = Bot::open(real_config()).unwrap();
    let mut out = Vec::new();
    console::run(&bot, input.as_bytes(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn console_runs_the_same_commands_as_discord() {
    let out = run("/ask how will OH be easier to access?\n/sources\n/help\n");
    assert!(out.contains("(only you can see this)"), "{out}");
    assert!(out.contains("[1] Growing Occupational Health and Wellbeing Together › Growing our OHWB services across systems › Inclusion, equality and ease of access"), "{out}");
    assert!(out.contains("Read the source: https://"), "{out}");
    assert!(out.contains("== What I answer from =="), "{out}");
    assert!(out.contains("== How to use this bot =="), "{out}");
}

#[test]
fn console_reports_bad_lines_and_keeps_going() {
    let out = run("hello\n/nope\n/ask\n/ask what is the people promise share:true\n/quit\n/help\n");
    assert!(out.contains("commands start with /"), "{out}");
    assert!(out.contains("unknown command /nope"), "{out}");
    assert!(out.contains("needs question"), "{out}");
    assert!(out.contains("(posted to the channel)"), "{out}");
    assert!(
        !out.contains("How to use this bot"),
        "stops at /quit: {out}"
    );
}
