"""`rompy report`: the sweep's page holds its members (failures first), counts, durations and metric plots."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.helpers.cli import run_rompy
from tests.helpers.runs import transport_sweep


class Page(HTMLParser):
    """What the tests look at in the page: member rows, status chips, figures and their points, links."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.chips: list[str] = []
        self.figures: dict[tuple[str, str], int] = {}
        self.references: list[str] = []
        self._cell: list[str] | None = None
        self._figure: tuple[str, str] | None = None
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        if tag == "tr" and "data-member" in attrs:
            self.rows.append([])
        elif tag == "td" and self.rows and "tbody" in self._in:
            self._cell = []
        elif tag == "span" and "chip" in (attrs.get("class") or ""):
            self.chips.append("")
        elif tag == "figure":
            self._figure = (attrs["data-metric"], attrs["data-parameter"])
            self.figures[self._figure] = 0
        elif tag == "circle" and self._figure:
            self.figures[self._figure] += 1
        for name in ("src", "href"):
            if name in attrs:
                self.references.append(attrs[name])

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data + " ")
        if self.chips and self._in and self._in[-1] == "span" and not self.chips[-1]:
            self.chips[-1] = data.strip()


def report(sweep, cwd) -> Page:
    proc = run_rompy("report", str(sweep.dir), cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{sweep.dir / 'report.html'}\n"
    return Page((sweep.dir / "report.html").read_text())


def test_members_failures_first_counts_and_plots(workdir):
    sweep = transport_sweep(workdir)
    page = report(sweep, workdir)
    assert [row[:3] for row in page.rows] == [["3", "failed", "1"], ["0", "succeeded", "0"],
                                              ["1", "succeeded", "0"], ["2", "succeeded", "0"]]
    assert page.rows[0][4] == "postprocessor failed: transport undefined below 40 m (depth 50)"
    assert page.rows[1][-2:] == ["3.16228", "25"]  # max_speed_m_s, transport_sv of depth 10
    assert page.chips == ["1 failed", "3 succeeded"]
    assert page.figures == {("max_speed_m_s", "model.depths"): 3, ("transport_sv", "model.depths"): 3,
                            ("duration_s", "model.depths"): 4}


def test_the_page_needs_nothing_from_outside(workdir):
    sweep = transport_sweep(workdir, depths="[10],[20]")
    page = report(sweep, workdir)
    assert page.references == ["data:,"]
    html = (sweep.dir / "report.html").read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html


def test_a_sweep_still_running_or_killed_says_so(workdir):
    from rompy.sweep.lock import claim_sweep_dir

    sweep = transport_sweep(workdir, depths="[10],[20]")
    with claim_sweep_dir(sweep.dir):  # as a sweep resumed into this folder holds it while it runs
        report(sweep, workdir)
    assert "The sweep is still running" in (sweep.dir / "report.html").read_text()
    (sweep.dir / "summary.json").unlink()  # a sweep killed before its summary
    assert len(report(sweep, workdir).rows) == 2
    assert "ended before writing its summary" in (sweep.dir / "report.html").read_text()


def test_members_without_metrics_still_get_their_durations(workdir):
    from tests.helpers.sweeps import Sweep

    sweep = Sweep(workdir)
    assert sweep.run("model.periods=[5],[8]").returncode == 0
    page = report(sweep, workdir)
    assert page.figures == {("duration_s", "model.periods"): 2}
    assert "No member recorded metrics" in (sweep.dir / "report.html").read_text()
