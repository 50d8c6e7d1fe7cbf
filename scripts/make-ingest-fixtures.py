#!/usr/bin/env python3
"""Writes the `ingest` test fixtures under tests/fixtures/ingest/.

The files are committed; this script documents how they were made and rebuilds them:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install reportlab==5.1.0 python-docx==1.2.0
    /tmp/v/bin/python scripts/make-ingest-fixtures.py

The content is about a fictional "Example Trust": fixtures exercise the reader (headings,
pages, running headers, tables, boilerplate, bad files) and are never part of the corpus.
"""
import datetime
import os
import zipfile

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas
from reportlab.lib import pdfencrypt
import docx

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ingest")
W, H = A4
MARGIN = 72
BODY = ("Helvetica", 11)

GUIDE = [
    # (page, [(kind, level, text)])
    (1, [
        ("h", 1, "1 Introduction"),
        ("p", 0, "This guide explains how staff and managers at Example Trust can use the occupational health service. It covers referrals, health surveillance and how to contact the team."),
        ("p", 0, "Occupational health gives impartial advice on fitness for work. It does not replace your GP, and it does not decide employment matters."),
    ]),
    (2, [
        ("h", 1, "2 Making a referral"),
        ("p", 0, "A manager may refer a member of staff after talking to them about the reason for the referral. The member of staff must agree to the referral and can see what is sent."),
        ("h", 2, "2.1 Who can refer"),
        ("p", 0, "Line managers, matrons and heads of department can make management referrals. Any member of staff can refer themselves for advice about work and health."),
    ]),
    (3, [
        ("h", 1, "3 Health surveillance"),
        ("p", 0, "Staff exposed to certain hazards at work have regular checks. The table below shows the checks offered at Example Trust."),
        ("t", 0, [["Hazard", "Check", "How often"], ["Latex", "Skin check", "Every year"], ["Night work", "Health questionnaire", "Every year"], ["Noise", "Hearing test", "Every two years"]]),
    ]),
    (4, [
        ("h", 1, "4 Contacts"),
        ("p", 0, "The occupational health team is open Monday to Friday, 8am to 4pm. Self-referral forms are on the staff intranet."),
    ]),
]


def wrapped(c, text, y, font=BODY):
    c.setFont(*font)
    for line in simpleSplit(text, font[0], font[1], W - 2 * MARGIN):
        c.drawString(MARGIN, y, line)
        y -= font[1] * 1.4
    return y - font[1] * 0.8


def running_header_footer(c, page, pages):
    c.setFont("Helvetica", 8)
    c.drawString(MARGIN, H - 40, "Example Trust - Occupational Health Referral Guide - version 3")
    c.drawString(W / 2 - 20, 30, f"Page {page} of {pages}")


def guide_pdf(path, outline=True, encrypt=None):
    kwargs = {}
    if encrypt:
        kwargs["encrypt"] = pdfencrypt.StandardEncryption(encrypt, ownerPassword="owner-" + encrypt, canModify=0)
    c = canvas.Canvas(path, pagesize=A4, invariant=1, **kwargs)
    c.setTitle("Occupational Health Referral Guide")
    c.setAuthor("Example Trust")
    c.setCreator("make-ingest-fixtures.py")
    for page, items in GUIDE:
        running_header_footer(c, page, len(GUIDE))
        y = H - 90
        for kind, level, text in items:
            if kind == "h":
                key = f"k{page}-{text[:3]}"
                c.bookmarkPage(key, top=y + 20)
                if outline:
                    c.addOutlineEntry(text, key, level=level - 1)
                size = 16 if level == 1 else 13
                c.setFont("Helvetica-Bold", size)
                c.drawString(MARGIN, y, text)
                y -= size * 1.8
            elif kind == "p":
                y = wrapped(c, text, y)
            elif kind == "t":
                c.setFont(*BODY)
                for row in text:
                    for i, cell in enumerate(row):
                        c.drawString(MARGIN + i * 150, y, cell)
                    y -= BODY[1] * 1.6
                y -= BODY[1]
        c.showPage()
    c.save()


def leaflet_pdf(path):
    """Two pages, no outline: headings only by font size."""
    c = canvas.Canvas(path, pagesize=A4, invariant=1)
    c.setTitle("Looking after your back at work")
    pages = [
        [("Looking after your back at work", 20),
         ("Why backs matter", 15),
         ("Back pain is one of the most common reasons staff are off work. Most back pain gets better within a few weeks with gentle activity.", 11),
         ("Moving and handling", 15),
         ("Use the equipment provided and ask for training if you have not had it this year.", 11)],
        [("Getting help", 15),
         ("Talk to your manager early. The occupational health team can advise on adjustments so you can stay at work or return sooner.", 11)],
    ]
    for page in pages:
        y = H - 80
        for text, size in page:
            if size > 11:
                c.setFont("Helvetica-Bold", size)
                c.drawString(MARGIN, y, text)
                y -= size * 1.8
            else:
                y = wrapped(c, text, y)
        c.showPage()
    c.save()


def scanned_pdf(path):
    """A page with only a drawing, as a scan without a text layer looks to a reader."""
    c = canvas.Canvas(path, pagesize=A4, invariant=1)
    c.rect(MARGIN, H / 2, W - 2 * MARGIN, 200, fill=1)
    c.showPage()
    c.save()


HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Staff wellbeing hub | Example Trust</title>
<meta property="article:published_time" content="2024-03-05T09:00:00Z">
<style>body { font-family: sans-serif; }</style>
<script>window.analytics = [];</script>
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve this site. <button>Accept all cookies</button> <a href="/cookies">Cookie settings</a></div>
<header class="site-header"><a href="/">Example Trust home</a> <form role="search"><input name="q"></form></header>
<nav aria-label="Main menu"><ul><li><a href="/about">About us</a></li><li><a href="/jobs">Jobs</a></li><li><a href="/contact">Contact</a></li></ul></nav>
<nav class="breadcrumb">Home &gt; Staff &gt; Wellbeing</nav>
<main>
<h1>Staff wellbeing hub</h1>
<p>The wellbeing hub offers <strong>confidential</strong> support to everyone who works at Example Trust, including bank staff and volunteers.</p>
<h2>What the hub offers</h2>
<ul>
<li>Talking therapies, by self-referral</li>
<li>Financial wellbeing advice</li>
<li>Team sessions after difficult events</li>
</ul>
<h2>Opening hours</h2>
<table>
<tr><th>Day</th><th>Hours</th></tr>
<tr><td>Monday to Friday</td><td>8am to 6pm</td></tr>
<tr><td>Saturday</td><td>10am to 2pm</td></tr>
</table>
<h3>Out of hours</h3>
<p>Outside these hours, see the contacts on the staff intranet. A note with a tag-like text: 5 &lt; 6 and #1 priority.</p>
</main>
<aside class="related"><h2>Related pages</h2><a href="/x">Parking</a></aside>
<footer><p>&copy; 2024 Example Trust. <a href="/privacy">Privacy</a> <a href="/accessibility">Accessibility</a></p></footer>
</body>
</html>
"""


def word_docx(path):
    d = docx.Document()
    d.core_properties.title = "Flexible working and health"
    d.core_properties.created = datetime.datetime(2025, 1, 15, 9, 0, 0)
    d.add_heading("Flexible working and health", level=0)
    d.add_paragraph("This policy sets out how Example Trust supports staff whose health affects when or how they work.")
    d.add_heading("Purpose", level=1)
    d.add_paragraph("The policy helps managers and staff agree changes that keep people well at work.")
    d.add_heading("Adjustments that may help", level=2)
    for item in ["A phased return after sickness absence", "Changes to shift patterns", "Working from another site"]:
        d.add_paragraph(item, style="List Bullet")
    d.add_heading("How to ask", level=1)
    for item in ["Talk to your manager", "Ask occupational health for advice", "Agree a review date"]:
        d.add_paragraph(item, style="List Number")
    d.save(path)


TEXT = """Example Trust: occupational health at a glance

Occupational health helps staff stay well at work. Staff can refer themselves for advice.

Managers can make a referral with the agreement of the member of staff.
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda name: os.path.join(OUT, name)
    guide_pdf(p("referral-guide.pdf"))
    leaflet_pdf(p("back-care-leaflet.pdf"))
    guide_pdf(p("encrypted.pdf"), encrypt="secret")
    scanned_pdf(p("scanned.pdf"))
    with open(p("referral-guide.pdf"), "rb") as f:
        good = f.read()
    with open(p("malformed.pdf"), "wb") as f:
        f.write(good[: len(good) // 3])  # cut off mid-object: no cross-reference table
    with open(p("empty.pdf"), "wb"):
        pass
    with open(p("wellbeing-hub.html"), "w") as f:
        f.write(HTML)
    word_docx(p("flexible-working.docx"))
    with open(p("at-a-glance.txt"), "w") as f:
        f.write(TEXT)
    # A zip that is not a Word document.
    with zipfile.ZipFile(p("not-word.docx"), "w") as z:
        z.writestr("hello.txt", "not a document")


if __name__ == "__main__":
    main()
