"""The embedded demo outlets: fictional publishers, their feeds and pages, served locally.

    from demo import serve_demo_outlets

    with serve_demo_outlets() as site:        # builds the site, serves it on 127.0.0.1
        site.write_sources_yaml(path)          # a source registry pointing at it
        site.outlets                           # the same, as mediawatch.records.Outlet
        site.world                             # ground truth: every article and its narrative

`python -m demo` serves them until Ctrl-C. See demo/README.md.
"""

from demo.server import DemoSite, serve_demo_outlets
from demo.world import DemoArticle, DemoWorld, build_world

__all__ = ["DemoArticle", "DemoSite", "DemoWorld", "build_world", "serve_demo_outlets"]
