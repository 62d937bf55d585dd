"""`msggate`: the command line. One module per command group; this file only wires them.

Exit codes (DESIGN.md): 0 success, 1 failure of the work, 2 usage error.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import offline, ops, running


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with the command's usage
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                        help="Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)")


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=os.environ.get("MSGGATE_CONFIG"),
                        help="per-seller configuration file, TOML (env MSGGATE_CONFIG; default: built-in defaults)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="msggate", description=(
        "msggate decides, per outgoing buyer message, whether an Amazon seller may send it: "
        "approved, blocked (with the rule codes and evidence) or needs-important. "
        "Run `msggate dev` for a local gateway, `msggate check FILE` to decide messages offline."))
    parser.add_argument("--version", action="version", version=f"msggate {__import__('streams').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    offline.register(sub, add_config)
    running.register(sub, add_bootstrap, add_config)
    ops.register(sub, add_bootstrap, add_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `msggate check ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
