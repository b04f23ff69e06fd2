"""The `pulse` command. Each sub-command is a thin shell over the packages it names."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from schemas.settings import Settings, SettingsError


def _settings() -> Settings:
    return Settings.from_env()


def cmd_up(args) -> int:
    from pulse.runtime import up

    return up(_settings(), demo=args.demo)


def cmd_worker(args) -> int:
    from streams import worker

    worker.run(_settings())
    return 0


def cmd_hooks(args) -> int:
    from streams import hooks

    hooks.run(_settings())
    return 0


def cmd_ui(args) -> int:
    settings = _settings()
    from pathlib import Path

    import ui

    app = Path(ui.__file__).with_name("app.py")
    os.execv(sys.executable, [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", settings.ui_host, "--server.port", str(settings.ui_port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",  # readers see the dashboard, not Streamlit's deploy menu
    ])
    return 0


def cmd_demo(args) -> int:
    from pulse import demo

    if args.rate is not None and not 0 <= args.rate <= 1000:
        raise SystemExit("pulse demo: --rate must be from 0 to 1000 touches a second")
    demo.run(_settings(), rate=demo.LIVE_RATE if args.rate is None else args.rate)
    return 0


def cmd_migrate(args) -> int:
    from sinks.client import OwnerLock, writer_client
    from sinks.migrate import load_migrations, migrate

    settings = _settings()
    if settings.embedded_clickhouse:
        holder = OwnerLock.holder(settings.data_dir)
        if holder is not None:
            # The owner migrated at start; check through its read-only endpoint instead of opening the data.
            from sinks.client import reader_client
            from sinks.store import Store

            applied = Store(reader_client(settings), settings.database).applied_migrations()
            missing = [m.name for m in load_migrations(settings) if m.version not in applied]
            if missing:
                print(f"pulse up (pid {holder}) owns the data and has not applied: {', '.join(missing)}; "
                      "restart it to apply them", file=sys.stderr)
                return 1
            print(f"up to date (pulse up, pid {holder}, applied every migration at start)")
            return 0
        lock = OwnerLock(settings.data_dir).acquire()
        try:
            done = migrate(writer_client(settings), settings)
        finally:
            lock.release()
    else:
        done = migrate(writer_client(settings), settings)
    print("applied: " + ", ".join(done) if done else "up to date: nothing to apply")
    return 0


def cmd_sql(args) -> int:
    from sinks.client import reader_client

    settings = _settings()
    query = " ".join(args.query) if args.query else sys.stdin.read()
    try:
        client = reader_client(settings)
        fmt = "" if "format" in query.lower().split()[-2:] else f"\nFORMAT {args.format}"
        sys.stdout.write(client.raw_query(query.rstrip().rstrip(";") + fmt).decode())
    except Exception as exc:
        print(f"pulse sql: {str(exc).strip()}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description="Account-based-marketing engagement pipeline.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start everything on this machine (broker, worker, hooks, dashboard)")
    p.add_argument("--demo", action="store_true", help="also generate realistic demo traffic")
    p.set_defaults(func=cmd_up)
    sub.add_parser("worker", help="run a stream worker (Faust agents + ClickHouse writer)").set_defaults(func=cmd_worker)
    sub.add_parser("hooks", help="run the tracking hooks (HTTP ingress)").set_defaults(func=cmd_hooks)
    sub.add_parser("ui", help="run the Streamlit dashboard").set_defaults(func=cmd_ui)
    p = sub.add_parser("demo", help="publish a demo registry and post demo touches to the hooks")
    p.add_argument("--rate", type=float, default=None,
                   help="live touches per second, on average (default 0.3, the history's pace: pulse/demo.py)")
    p.set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="apply missing ClickHouse migrations").set_defaults(func=cmd_migrate)
    p = sub.add_parser("sql", help="run a read-only SQL query (argument or stdin)")
    p.add_argument("query", nargs="*")
    p.add_argument("--format", default="PrettyCompact", help="ClickHouse output format (default PrettyCompact)")
    p.set_defaults(func=cmd_sql)
    # Sub-commands of later parts register themselves from their own modules, so this file stays short.
    for module in ("pulse.cmd_ingest", "pulse.cmd_registry", "pulse.cmd_ops", "pulse.cmd_bench",
                   "pulse.cmd_opportunities", "pulse.cmd_spend_goals",
                   "pulse.cmd_lifecycle", "pulse.cmd_store", "pulse.cmd_digest",
                   "pulse.cmd_alerts", "pulse.cmd_forget"):
        try:
            register = importlib.import_module(module).register
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command in ("worker", "hooks", "demo")
                        else logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return args.func(args) or 0
    except SettingsError as exc:
        print(f"pulse: setting error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # `pulse status | head` closed its end: not an error. Point stdout at nothing, so the
        # interpreter's final flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one line, never a traceback, for the errors people hit
        from pulse.support.waits import StartupError
        from sinks.client import DataDirBusy

        if isinstance(exc, (StartupError, DataDirBusy)):
            print(f"pulse: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
