//! Provenance: every fact the bot states links to the page that states it.
//!
//! The claims table was drawn from `../shared/facts/` (each fact bullet names the page it was
//! read on) when the corpus was given a source per paragraph; a claim here is an exact phrase
//! of the corpus, and every passage that contains it must cite that page. Moving a sentence
//! under another source comment, or merging paragraphs from two pages, fails this test.

use crate::common::{bot_cmd, corpus_copy, corpus_dir};

/// (phrase as the corpus states it, document, the page that must be cited for it).
const CLAIMS: &[(&str, &str, &str)] = &[
    ("over 1,000 stakeholders", "growing-ohwb-together", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/growing-occupational-health-and-wellbeing-together-strategy/"),
    ("£855 a year", "growing-ohwb-together", "https://www.personneltoday.com/hr/nhs-england-workforce-plan-occupational-health/"),
    ("3,000 to 4,000 OH nurses", "growing-ohwb-together", "https://www.personneltoday.com/hr/occupational-health-training-fund/"),
    ("was founded in 2014", "growing-ohwb-together", "https://ioh.org.uk/2023/05/nsoh-and-the-progression-of-oh-education-and-training/"),
    ("From July 2024 it is open to registered nurses", "growing-ohwb-together", "https://fom.ac.uk/education/examinations/diplomas/dipohprac"),
    ("massively stepped up", "growing-ohwb-together", "https://www.personneltoday.com/hr/nhs-growing-occupational-health-strategy-launched/"),
    ("refer to it as the 2022 strategy", "growing-ohwb-together", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/wellbeing-guardians/the-why-what-and-how-of-health-and-wellbeing-guardians/"),
    ("Trent Occupational Medicine Conference", "growing-ohwb-together", "https://ioh.org.uk/2022/12/growing-occupational-health-and-well-being/"),
    ("Dr Lara Shemtob", "growing-ohwb-together", "https://www.som.org.uk/potential-and-limitations-digital-solutions-occupational-health"),
    ("March 2022 bulletin announced new dates", "growing-ohwb-together", "https://nhshealthatwork.co.uk/news-bulletin.asp?info=March+2022+Bulletin&start=36"),
    ("Growing OHWB community on FutureNHS", "growing-ohwb-together", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/growing-occupational-health-and-wellbeing-together-strategy/"),
    ("five-year strategy to improve health and wellbeing services for NHS people", "growing-ohwb-together", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/growing-occupational-health-and-wellbeing-together-strategy/"),
    ("27 July 2021", "development-and-timeline", "https://helpforce.community/connect/resources/nhs-growing-occupational-health-programme-survey"),
    ("led by Dr Steve Boorman CBE", "development-and-timeline", "https://www.ardengemcsu.nhs.uk/showcase/case-studies/case-studies/growing-occupational-health-and-wellbeing-services-in-the-nhs/"),
    ("ran from August to September 2021", "development-and-timeline", "https://www.nhshealthatwork.co.uk/growingohroadmap.asp"),
    ("online event on 20 June 2022", "development-and-timeline", "https://www.personneltoday.com/hr/nhs-growing-occupational-health-strategy-launched/"),
    ("Em Wilkinson-Brice", "development-and-timeline", "https://www.personneltoday.com/hr/nhs-england-growing-occupational-health-strategy-launch/"),
    ("February 2023 bulletin said the full strategy had now been launched", "development-and-timeline", "https://nhshealthatwork.co.uk/news-bulletin.asp?info=February+2023+Bulletin&start=24"),
    ("Year 1 programme of investment and action areas", "development-and-timeline", "https://slideorbit.com/slide/collaborating-for-occupational-health-and-wellbeing-our-vision-and-action-plan/184125"),
    ("Council for Work and Health and the NHS Health and Wellbeing Expert Advisory Board", "development-and-timeline", "https://helpforce.community/connect/resources/nhs-growing-occupational-health-programme-survey"),
    ("27 March 2024", "planning-and-systems", "https://www.england.nhs.uk/long-read/2024-25-priorities-and-operational-planning-guidance/"),
    ("page 17", "planning-and-systems", "https://nhshealthatwork.co.uk/news-latest.asp?info=Growing+OHWB+Together+Strategy&start=24"),
    ("about 20 pages with 35 objectives", "planning-and-systems", "https://www.capsticks.com/insights/nhs-england-publishes-new-priorities-and-operational-planning-guidance"),
    ("as the first people priority", "planning-and-systems", "https://www.england.nhs.uk/long-read/health-and-wellbeing-guardian-guidance-appendix-2-guidance-for-implementing-in-integrated-care-boards/"),
    ("10.7 days", "boorman-review-2009", "https://www.personneltoday.com/hr/boorman-review-urges-nhs-to-prioritise-staff-health/"),
    ("14,900 extra whole-time-equivalent staff", "boorman-review-2009", "http://www.dwp.gov.uk/health-work-and-well-being/our-work/nhs-health-and-well-being/"),
    ("21 April 2009", "boorman-review-2009", "http://www.healthcare-today.co.uk/news/nhs-health-and-wellbeing-review-launches-call-for-evidence/11076/"),
    ("19 August 2009", "boorman-review-2009", "http://www.aston.ac.uk/aston-business-school/news/news-archive/2009/health-of-nhs-staff/"),
    ("4.48%", "boorman-review-2009", "https://www.parallelparliament.co.uk/question/228000/health-services"),
    ("The review made 20 recommendations", "boorman-review-2009", "http://www.dwp.gov.uk/health-work-and-well-being/our-work/nhs-health-and-well-being/"),
    ("an exemplar", "boorman-review-2009", "https://www.personneltoday.com/hr/boorman-nhs-staff-health-recommendations-accepted-in-full-by-government/"),
    ("more than a quarter to stress, depression and anxiety", "boorman-review-2009", "https://www.hrmagazine.co.uk/content/news/boorman-review-highlights-need-to-improve-health-of-nhs-staff"),
    ("17 March 2008", "working-for-a-healthier-tomorrow-2008", "https://1library.net/document/zwr2pply-carol-review-britain-working-population-working-healthier-tomorrow.html"),
    ("ISBN 978 0 11 702513 4", "working-for-a-healthier-tomorrow-2008", "http://tsoshop.co.uk/product/9780117025134/Working-for-a-healthier-tomorrow-Dame-Carol-Blacks-review-of-the-health-of-Britains-working-age/?TRACKID=002417"),
    ("175 million working days", "working-for-a-healthier-tomorrow-2008", "http://tsoshop.co.uk/product/9780117025134/Working-for-a-healthier-tomorrow-Dame-Carol-Blacks-review-of-the-health-of-Britains-working-age/?TRACKID=002417"),
    ("267 replies", "working-for-a-healthier-tomorrow-2008", "https://hrcentre.uk.brightmine.com/commentary-and-insights/the-preserve-of-the-few-occupational-health-today/86025"),
    ("25 November 2008", "working-for-a-healthier-tomorrow-2008", "https://hansard.parliament.uk/Lords/2008-11-25/debates/08112571000013/HealthWorking-AgePopulation"),
    ("The fit note was introduced in 2010", "working-for-a-healthier-tomorrow-2008", "https://parallelparliament.co.uk/question/217537/occupational-health"),
    ("equal to Portugal's GDP", "working-for-a-healthier-tomorrow-2008", "http://centresofexpertise.com/page39.php"),
    ("commissioned in March 2007", "working-for-a-healthier-tomorrow-2008", "https://kingsfund.blogs.com/health_management/2008/03/page/2/"),
    ("24 trailblazer organisations", "health-and-wellbeing-framework-2021", "https://www.england.nhs.uk/long-read/using-the-nhs-health-and-wellbeing-framework-successfully/"),
    ("28 February to 23 March 2020", "health-and-wellbeing-framework-2021", "https://engage.improvement.nhs.uk/people-services/health-and-wellbeing-framework-review/"),
    ("covering 14 areas", "health-and-wellbeing-framework-2021", "https://www.nhsemployers.org/your-workforce/retain-and-improve/staff-experience/health-work-and-wellbeing/health-and-wellbeing-framework"),
    ("Data insights: measuring how effective our support is", "health-and-wellbeing-framework-2021", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/nhs-health-and-wellbeing-framework/case-studies/"),
    ("high-level culture change toolkit", "health-and-wellbeing-framework-2021", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/nhs-health-and-wellbeing-framework/"),
    ("1 December 2010", "oh-services-and-standards", "https://www.nhshealthatwork.co.uk/accreditation-standards.asp"),
    ("SEQOHS-accredited in July 2011", "oh-services-and-standards", "https://www.personneltoday.com/hr/occupational-health-providers-receive-seqohs-recognition/"),
    ("20 evidence-based indicators", "oh-services-and-standards", "https://mohawk.fom.ac.uk/CMS/Page.aspx?PageId=1031"),
    ("brings together 90% of the OH teams", "oh-services-and-standards", "https://nhshealthatwork.co.uk/ourwork.asp"),
    ("launched in the NHS in 2012", "oh-services-and-standards", "https://www.personneltoday.com/hr/nhs-performance-monitoring-system-available-to-all-sectors/"),
    ("including six NHS core services", "oh-services-and-standards", "https://www.nhshealthatwork.co.uk/accreditation-standards.asp"),
    ("30 July 2020", "people-plan-and-people-promise", "https://www.readkong.com/page/we-are-the-nhs-people-plan-2020-21-action-for-us-all-5303584"),
    ("1.3 million people", "people-plan-and-people-promise", "https://www.england.nhs.uk/our-nhs-people/online-version/introduction/"),
    ("96% of NHS provider organisations", "people-plan-and-people-promise", "https://www.england.nhs.uk/long-read/health-and-wellbeing-guardian-guidance-appendix-1-early-evaluation-and-recommendations-to-improve-impact-and-reach/"),
    ("208 organisations", "people-plan-and-people-promise", "https://keepingwellnel.nhs.uk/who-we-are/our-hw-guardians/"),
    ("redesigned from 2021", "people-plan-and-people-promise", "https://se.leadershipacademy.nhs.uk/home-page/our-nhs-people-promise/"),
    ("three areas: health and safety; physical and mental health and wellbeing; and flexible working", "people-plan-and-people-promise", "https://www.nhsemployers.org/articles/nhs-people-plan-workforce-health-and-wellbeing"),
    ("ended on 31 March 2023", "getting-support", "https://www.bps.org.uk/node/42105"),
    ("more than a third of the 40 hubs", "getting-support", "https://www.hsjjobs.com/article/the-ward-round-extent-of-cuts-to-staff-mental-health-hubs-revealed/"),
    ("more than 10,000 staff", "getting-support", "https://managementinpractice.com/news/free-workplace-coaching-service-to-support-primary-care-staff-closes"),
    ("On 8 April 2020", "getting-support", "https://www.cntw.nhs.uk/news/nhs-launches-mental-health-hotline-for-staff-tackling-covid-19/"),
    ("extend the service by 12 months", "getting-support", "https://managementinpractice.com/news/nhs-england-u-turns-on-decision-to-cut-practitioner-mental-health-service/"),
    ("going until March 2024", "getting-support", "https://www.england.nhs.uk/supporting-our-nhs-people/support-now/staff-mental-health-and-wellbeing-hubs/"),
];

#[test]
fn every_claim_cites_the_page_that_states_it() {
    let corpus = ohwb_bot::corpus::load(&corpus_dir()).unwrap();
    assert!(corpus.problems.is_empty(), "{:?}", corpus.problems);
    assert!(CLAIMS.len() >= 20);
    let mut wrong = Vec::new();
    for (says, doc, url) in CLAIMS {
        let holding: Vec<_> = corpus
            .documents
            .iter()
            .flat_map(|d| d.passages.iter().map(move |p| (d, p)))
            .filter(|(_, p)| p.text.contains(says))
            .collect();
        if holding.is_empty() {
            wrong.push(format!("`{says}`: no passage states it"));
        }
        for (d, p) in holding {
            if d.slug == *doc && p.url != *url {
                wrong.push(format!("`{says}` in {}: cites {}, not {url}", p.id, p.url));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} claim(s) cite the wrong page:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Through the bot: a question about a claim gets it in a citation linking to its page.
#[test]
fn the_bot_cites_the_page_of_the_figure_it_quotes() {
    for (question, says, url) in [
        ("how many days a year was the average NHS worker off sick in 2009", "10.7 days", "https://www.personneltoday.com/hr/boorman-review-urges-nhs-to-prioritise-staff-health/"),
        ("how many stakeholders helped co-design the strategy", "over 1,000 stakeholders", "https://www.england.nhs.uk/supporting-our-nhs-people/health-and-wellbeing-programmes/growing-occupational-health-and-wellbeing-together-strategy/"),
    ] {
        let a = crate::common::ask(question);
        let cited = a.citations.iter().find(|c| c.text.contains(says));
        let c = cited.unwrap_or_else(|| panic!("{question}: no citation states `{says}`: {:#?}", a.citations.iter().map(|c| &c.passage_id).collect::<Vec<_>>()));
        assert_eq!(c.url, url, "{question}");
    }
}

/// `check` names the file and line of a strategy paragraph without a source.
#[test]
fn check_refuses_an_unsourced_paragraph_with_file_and_line() {
    let (_dir, config) = corpus_copy();
    let file = config
        .paths
        .corpus
        .join("strategy/growing-ohwb-together.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines = text.lines().count();
    std::fs::write(
        &file,
        format!("{text}\nA new paragraph someone added without a source.\n"),
    )
    .unwrap();
    let out = bot_cmd(&config, &["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let at = format!("strategy/growing-ohwb-together.md:{}:", lines + 2);
    assert!(
        err.contains(&at) && err.contains("has no source"),
        "expected {at} in {err}"
    );
}

/// A document past its review date is flagged by `check` and `sources`; citations date it.
#[test]
fn overdue_reviews_are_flagged_and_citations_are_dated() {
    let (_dir, config) = corpus_copy();
    let file = config
        .paths
        .corpus
        .join("background/boorman-review-2009.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen(
        "kind = ",
        "reviewed = \"2025-03\"\nreview_due = \"2026-03\"\nkind = ",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let check = bot_cmd(&config, &["check"]).output().unwrap();
    assert!(check.status.success());
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("boorman-review-2009.md: review was due 2026-03"),
        "{err}"
    );
    assert!(bot_cmd(&config, &["index"])
        .output()
        .unwrap()
        .status
        .success());
    let sources = bot_cmd(&config, &["sources"]).output().unwrap();
    let sources = String::from_utf8_lossy(&sources.stdout);
    assert!(sources.contains("reviewed March 2025"), "{sources}");
    assert!(
        sources.contains("warning: review was due 2026-03"),
        "{sources}"
    );
    let out = bot_cmd(
        &config,
        &[
            "ask",
            "--json",
            "--source",
            "boorman-review-2009",
            "how many days were NHS staff off sick a year",
        ],
    )
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["citations"][0]["dated"], "reviewed March 2025", "{v:#}");
    // Other documents keep their publication date.
    let out = bot_cmd(
        &config,
        &[
            "ask",
            "--json",
            "--source",
            "working-for-a-healthier-tomorrow-2008",
            "when was Carol Black's review presented",
        ],
    )
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["citations"][0]["dated"], "published 17 March 2008",
        "{v:#}"
    );
}
