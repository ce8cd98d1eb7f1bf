"""`dxwatch digest preview|send|history`: digests written, sent and reviewed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from crawler.cli.common import Table, console, digest_app, err_console, short_time, state


@digest_app.command("preview")
def digest_preview(
    name: str = typer.Argument(..., help="The digest's name in digests.yaml."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    recipient: Optional[str] = typer.Option(None, "--recipient",
                                            help="Show what this recipient would get next (default: the whole digest)."),
) -> None:
    """Write a digest as HTML without sending or recording anything."""
    from digests.runner import preview_digest

    path = preview_digest(state.config(), state.db(must_exist=True), name, out, recipient=recipient)
    console.print(f"preview written to {path}", highlight=False, markup=False)


@digest_app.command("send")
def digest_send(
    name: str = typer.Argument(..., help="The digest's name in digests.yaml."),
    run_key: Optional[str] = typer.Option(None, "--run-key", help="Identifies the run; a key is delivered once."),
) -> None:
    """Send what is new to each recipient now; exit code 1 when a message failed or is left pending."""
    from rich.text import Text

    from digests.runner import send_digest

    summary = send_digest(state.config(), state.db(), name, run_key=run_key)
    table = Table("recipient", "status", "items", "attempts", "error", title=f"digest {name} ({summary['run_key']})")
    for d in summary["deliveries"]:  # this run's rows, then earlier runs' rows this run sent or retried
        counts = json.loads(d["counts"] or "{}")
        status = d["status"] if d["run_id"] == summary["run_id"] else f"{d['status']} (run #{d['run_id']})"
        table.add_row(Text(d["recipient"]), status, _counts_text(counts), str(d["attempts"]),
                      Text(d["last_error"] or ""))
    console.print(table)
    console.print(f"sent {summary['sent']}, nothing new {summary['empty']}, failed {summary['failed']}, "
                  f"pending {summary['pending']}"
                  + (f", unconfirmed {summary['unconfirmed']}" if summary["unconfirmed"] else "")
                  + (f" ({summary['error']})" if summary["error"] else ""), highlight=False, markup=False)
    if summary["overdue"]:
        err_console.print(f"warning: {summary['overdue']} message(s) pending for more than 7 days: check the SMTP "
                          "server and the smtp settings in digests.yaml (see the error column)", highlight=False)
    if summary["failed"] or summary["pending"] or summary["unconfirmed"]:
        raise typer.Exit(1)


def _counts_text(counts: dict) -> str:
    from digests.render import count_labels

    return ", ".join(f"{counts.get(k, 0)} {label}" for k, label in count_labels(stories="tin"))


@digest_app.command("history")
def digest_history(limit: int = typer.Option(20, "--limit", help="How many runs, newest first.")) -> None:
    """Digest and alert runs with each recipient's delivery: status, attempts, error, archived HTML."""
    from rich.text import Text

    from digests.render import count_labels
    from digests.runner import history

    labels = count_labels(stories="tin")
    table = Table("run", "recipient", "delivery", "items", "attempts", "sent / error / archive", show_lines=True,
                  caption=f"items: {' / '.join(label for _, label in labels)}; archives are next to the database file")
    for run in history(state.db(must_exist=True), limit):
        label = Text(f"#{run['id']} {run['digest']} ({run['status']})\n{run['run_key']}")
        for i, d in enumerate(run["deliveries"] or [{}]):
            counts = json.loads(d.get("counts") or "{}")
            numbers = "/".join(str(counts.get(k, 0)) for k, _ in labels)
            sent = short_time(d["sent_at"]) if d.get("sent_at") else None
            outcome = "\n".join(x for x in (sent, d.get("last_error"), d.get("archive")) if x)
            table.add_row(label if i == 0 else "", Text(d.get("recipient", "")), d.get("status", ""),
                          numbers if counts else "", str(d.get("attempts", "")), Text(outcome))
    console.print(table)
