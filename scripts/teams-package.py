#!/usr/bin/env python3
"""Builds the Teams app package to sideload: deploy/teams/manifest.json with its placeholders
filled in, and the two icons, zipped at the top level (what Teams' "Upload a custom app" and
the Teams admin centre expect).

    scripts/teams-package.py --app-id <Microsoft App ID> --trust "Example NHS Trust" \
        --website https://www.example.nhs.uk --privacy https://www.example.nhs.uk/privacy \
        --terms https://www.example.nhs.uk/terms [--out ohwb-bot-teams.zip]

Replace deploy/teams/color.png (192x192) and outline.png (32x32, white on transparent) with
your trust's own icons first if you have them.
"""
import argparse
import json
import pathlib
import re
import sys
import zipfile

HERE = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "teams"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID (GUID)")
    p.add_argument("--trust", required=True, help="developer name shown in Teams")
    p.add_argument("--website", required=True)
    p.add_argument("--privacy", required=True)
    p.add_argument("--terms", required=True)
    p.add_argument("--out", default="ohwb-bot-teams.zip")
    a = p.parse_args()
    if not GUID.match(a.app_id):
        print(f"--app-id must be a GUID, not {a.app_id!r}", file=sys.stderr)
        return 2
    for name, url in [("--website", a.website), ("--privacy", a.privacy), ("--terms", a.terms)]:
        if not url.startswith("https://"):
            print(f"{name} must be an https:// URL (Teams refuses others)", file=sys.stderr)
            return 2
    values = {
        "APP_ID": a.app_id, "TRUST_NAME": a.trust, "WEBSITE_URL": a.website,
        "PRIVACY_URL": a.privacy, "TERMS_URL": a.terms,
    }
    manifest = json.loads((HERE / "manifest.json").read_text())

    def fill(v):
        if isinstance(v, str):
            return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], v)
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    manifest = fill(manifest)
    with zipfile.ZipFile(a.out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
        z.write(HERE / "color.png", "color.png")
        z.write(HERE / "outline.png", "outline.png")
    print(f"wrote {a.out}: upload it in Teams (Apps > Manage your apps > Upload an app)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
