"""workbench: an annotation and labelling workbench for news text."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from flask import Flask

from workbench import config as _config

PACKAGE = Path(__file__).resolve().parent


#: The garbage collector's first threshold in the command's and the server's processes (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def settle_gc() -> None:
    """Keep the garbage collector off what is alive now (modules, the app, the engine): for long-lived processes only.

    Python's full collections walk every object alive, about 80,000 once the
    app, SQLAlchemy and the services are loaded, and on these machines each
    walk took 60-80 ms; an export of 100,000 documents made 25 of them
    (1.6 s of 10). :func:`gc.freeze` moves what is alive now out of their way
    (it is never freed, which is what a loaded module is anyway), and a
    higher first threshold stops the collector from running every 700 new
    objects, which a batch of database rows passes at once
    (docs/benchmarks.md, "Garbage collection"). Called by the ``workbench``
    command, its import and export, and the servers; never by
    :func:`create_app`, which tests call many times.
    """
    gc.freeze()
    young, *older = gc.get_threshold()
    if young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, *older)


def _asset_folder(name: str) -> str:
    """Find ``templates``/``static``: inside the package when installed, at the top of a checkout otherwise."""
    inside = PACKAGE / name
    return str(inside if inside.is_dir() else PACKAGE.parent / name)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and wire the Flask app.

    :param test_config: a mapping applied last, over every other setting.
    """
    app = Flask(
        __name__,
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
        instance_path=_config.instance_path_from_env(),
        instance_relative_config=True,
    )
    app.config.from_mapping(_config.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WORKBENCH")
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _config.secret_key(app.instance_path)

    from workbench import api
    from workbench import auth
    from workbench import cli
    from workbench import db
    from workbench import security
    from workbench import web

    if app.config.get("BEHIND_PROXY"):
        # Trust X-Forwarded-For/-Proto/-Host from that many proxies in front.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["BEHIND_PROXY"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)
    cli.init_app(app)
    return app
