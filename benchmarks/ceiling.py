"""The ceiling: a bare Starlette endpoint on the same uvicorn as the mock, measured in the same run.

It answers the mock's paths with no checks at all: `GET /invoices/{tenant}/{id}` serializes a stored invoice
of the size the mock returns, and `POST /invoices/{tenant}` parses the JSON body and answers the mock's create
response. Serving the same paths lets the mock, the ceiling and Prism run the very same wrk scripts. uvicorn is
configured as `collect-mock serve` configures it (auto loop and HTTP parser: uvloop and httptools when
installed; warning logs; no access log), so the ratio isolates what the mock does per request.

    python -m benchmarks.ceiling --port P --record invoice.json --answer created.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build_app(record: dict[str, Any], answer: dict[str, Any]) -> Starlette:
    async def read(request: Request) -> JSONResponse:
        return JSONResponse(record)

    async def write(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(answer)

    return Starlette(
        routes=[
            Route("/invoices/{tenant}/{id}", read, methods=["GET"]),
            Route("/invoices/{tenant}", write, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ceiling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="JSON the GET endpoint answers")
    parser.add_argument("--answer", type=Path, required=True, help="JSON the POST endpoint answers")
    args = parser.parse_args(argv)
    app = build_app(json.loads(args.record.read_text()), json.loads(args.answer.read_text()))
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
