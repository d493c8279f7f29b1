"""Open redirects: a corpus of ``next`` values and where a real browser's URL parser goes with the answer.

Each value is written as an attacker writes it in a link (already percent-encoded, put after
``next=`` as it is). Where the browser goes is decided by the WHATWG URL parser of Node.js — the
one browsers implement, with its own normalisation (tabs and newlines dropped, backslashes read as
slashes, controls and spaces trimmed) — not by a Python imitation of it.
"""
from __future__ import annotations

import json
import subprocess

#: Values that must never send the browser to another site.
HOSTILE = [
    "/%09/evil.example/x",            # the reported one: a tab the browser drops, leaving //evil.example
    "/%0A/evil.example/x",
    "/%0D/evil.example/x",
    "/%0D%0A/evil.example/x",
    "%09//evil.example/x",
    "%20//evil.example/x",
    "//evil.example/x",
    "///evil.example/x",
    "////evil.example/x",
    "/%5Cevil.example/x",             # /\evil.example
    "%5C%5Cevil.example/x",           # \\evil.example
    "/%5C/evil.example/x",
    "%5C/evil.example/x",
    "/%09%5Cevil.example/x",
    "/%2F/evil.example/x",            # encoded slash
    "%2F%2Fevil.example/x",
    "/%252F/evil.example/x",          # encoded twice
    "/%255Cevil.example/x",
    "https://evil.example/x",
    "http://evil.example/x",
    "HTTP://evil.example/x",
    "http:evil.example/x",
    "http:/evil.example/x",
    "https:%5C%5Cevil.example/x",
    "//localhost@evil.example/x",
    "http://localhost@evil.example/x",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "%20javascript:alert(1)",
    "java%09script:alert(1)",
    "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "/%EF%BC%8Fevil.example/x",       # ／ fullwidth solidus
    "%EF%BC%8F%EF%BC%8Fevil.example/x",
    "/%EF%BC%BCevil.example/x",       # ＼ fullwidth reverse solidus
    "/%E2%81%84evil.example/x",       # ⁄ fraction slash
    "/%E2%88%95evil.example/x",       # ∕ division slash
    "/%C2%A0/evil.example/x",         # no-break space
    "/%E2%80%8B/evil.example/x",      # zero-width space
    "/%00/evil.example/x",
    "/%7F/evil.example/x",
    "/.%09/evil.example/x",
]

#: Same-site paths that must still be honoured, exactly: as written in a link, and as answered.
SAME_SITE = {
    "/bulletins": "/bulletins",
    "%2Fbulletins%3Fq%3Dcash%2520courier": "/bulletins?q=cash%20courier",
    "%2Fsubmissions%3Fstatus%3Dreceived": "/submissions?status=received",
}

_RESOLVE = """
const base = process.argv[1];
const locations = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(locations.map((l) => { try { return new URL(l, base).origin; }
                                                  catch (e) { return 'invalid'; } })));
"""


def browser_origins(locations: list[str], base: str = "http://localhost/") -> list[str]:
    """The origin a browser ends up at for each ``Location`` answer, relative to ``base``."""
    done = subprocess.run(["node", "-e", _RESOLVE, base], input=json.dumps(locations), capture_output=True,
                          text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def assert_all_stay_here(answers: dict[str, str], base: str = "http://localhost/") -> None:
    """``answers`` maps each ``next`` value to the Location the portal sent; each must stay on the site."""
    origins = browser_origins(list(answers.values()), base)
    here = browser_origins([base], base)[0]
    away = {value: (location, origin) for (value, location), origin in zip(answers.items(), origins, strict=True)
            if origin != here}
    assert not away, f"sent to another site: {away}"
