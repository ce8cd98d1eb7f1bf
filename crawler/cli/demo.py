"""`dxwatch demo`: the bundled demo portals, crawled and mailed to a local SMTP server."""

from __future__ import annotations

import typer

from crawler.cli.common import app, console, err_console, labelled, state


@app.command()
def demo(
    serve: bool = typer.Option(False, "--serve", help="Only serve the demo portals until Ctrl-C (no crawl, no mail)."),
) -> None:
    """Serve the bundled demo portals on 127.0.0.1, crawl them, write data/digest-preview.html and
    deliver the digest to a local SMTP server that saves each message under data/outbox/."""
    from crawler.demo import DemoError, run_demo, serve_forever

    try:
        if serve:
            serve_forever(state.config(), state.db_target, console)
        else:
            run_demo(state.config(need_digests=True), state.db_target, console)
    except DemoError as exc:
        err_console.print(labelled("demo:", "bold red", exc), soft_wrap=True)
        raise typer.Exit(1) from None
