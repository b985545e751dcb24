"""HTML for the demo outlets: four template families with realistic chrome.

Every page has a header with a navigation menu and search box, breadcrumbs, a cookie notice,
a newsletter box and a footer with links; article pages add `<link rel="canonical">`,
OpenGraph and `article:published_time` meta, a byline with a `<time>` element and a list of
related articles. The families differ in markup (class names, nesting, microdata, JSON-LD)
the way real publishers' sites differ:

- broadsheet: a classic news-site layout, JSON-LD NewsArticle, sidebar with "most read";
- magazine:   HTML5 `<main><article>` with schema.org microdata, related links with `?ref=`;
- blog:       a WordPress-like theme (entry-content, widgets, closed comments);
- wire:       a dense agency layout (slug line, dateline, keywords, redistribution notice).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape

from demo.content import OutletSpec

VI_WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")
EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
FR_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
LOCALES = {"vi": "vi_VN", "en": "en_GB", "fr": "fr_FR", "zh": "zh_CN"}


def e(text: str) -> str:
    return escape(text, quote=True)


def tz_label(moment: datetime) -> str:
    offset = moment.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    return "GMT" if hours == 0 else f"GMT{hours:+d}"


def display_time(moment: datetime, language: str) -> str:
    """A human date as each language's press writes it (no locale module needed)."""
    if language == "vi":
        return (
            f"{VI_WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y}, {moment:%H:%M} "
            f"({tz_label(moment)})"
        )
    if language == "fr":
        day = "1er" if moment.day == 1 else str(moment.day)
        return (
            f"{FR_WEEKDAYS[moment.weekday()]} {day} {FR_MONTHS[moment.month - 1]} "
            f"{moment.year} à {moment:%Hh%M}"
        )
    if language == "zh":
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    month = EN_MONTHS[moment.month - 1]
    return f"{moment.day} {month} {moment.year}, {moment:%H:%M} {tz_label(moment)}"


@dataclass(frozen=True)
class Link:
    title: str
    href: str
    when: datetime | None = None
    summary: str = ""


@dataclass(frozen=True)
class Ctx:
    """What every page of one outlet in one language needs."""

    outlet: OutletSpec
    language: str
    ui: dict[str, str]
    base_url: str
    root: str  # /oid/ or /oid/en/
    nav: tuple[tuple[str, str], ...]  # (label, href)
    feed_url: str
    year: int
    other_languages: tuple[tuple[str, str], ...] = ()  # (code, href)

    @property
    def name(self) -> str:
        return self.outlet.name

    @property
    def tagline(self) -> str:
        tl = self.outlet.tagline
        return tl.get(self.language) or next(iter(tl.values()))

    def page(self, page: str) -> str:
        return f"{self.root}{page}/"


@dataclass(frozen=True)
class ArticleView:
    title: str
    paragraphs: Sequence[str]
    canonical: str
    published_at: datetime
    byline: str
    section_label: str
    section_href: str
    summary: str
    tags: Sequence[str] = ()


# --------------------------------------------------------------------------- shared bits


def _head(
    ctx: Ctx,
    title: str,
    canonical: str,
    description: str,
    extra: str = "",
    og_type: str = "website",
    og_title: str | None = None,
) -> str:
    feed_type = (
        "application/atom+xml" if ctx.outlet.feed_format == "atom" else "application/rss+xml"
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{ctx.language}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        f'<meta name="description" content="{e(description)}">\n'
        f'<link rel="canonical" href="{e(canonical)}">\n'
        f'<link rel="alternate" type="{feed_type}" title="{e(ctx.name)}" '
        f'href="{e(ctx.feed_url)}">\n'
        f'<meta property="og:site_name" content="{e(ctx.name)}">\n'
        f'<meta property="og:type" content="{og_type}">\n'
        f'<meta property="og:title" content="{e(og_title or title)}">\n'
        f'<meta property="og:url" content="{e(canonical)}">\n'
        f'<meta property="og:locale" content="{LOCALES.get(ctx.language, ctx.language)}">\n'
        f"{extra}"
        f'<link rel="stylesheet" href="/static/{ctx.outlet.family}.css">\n'
        "</head>\n"
    )


def _article_meta(ctx: Ctx, view: ArticleView) -> str:
    iso = view.published_at.isoformat()
    return (
        f'<meta property="og:description" content="{e(view.summary)}">\n'
        f'<meta property="article:published_time" content="{iso}">\n'
        f'<meta property="article:modified_time" content="{iso}">\n'
        f'<meta property="article:section" content="{e(view.section_label)}">\n'
        f'<meta name="author" content="{e(view.byline)}">\n'
        f'<meta name="twitter:card" content="summary_large_image">\n'
    )


def _json_ld(ctx: Ctx, view: ArticleView) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": view.title,
        "datePublished": view.published_at.isoformat(),
        "dateModified": view.published_at.isoformat(),
        "inLanguage": ctx.language,
        "author": {"@type": "Person", "name": view.byline},
        "publisher": {"@type": "Organization", "name": ctx.name},
        "mainEntityOfPage": view.canonical,
        "articleSection": view.section_label,
    }
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>\n'


def _cookie(ctx: Ctx, css: str = "cookie-banner") -> str:
    u = ctx.ui
    return (
        f'<div id="cookie-consent" class="{css}" role="dialog" aria-live="polite">'
        f"<p>{e(u['cookie_text'])}</p>"
        f'<button type="button" class="cookie-accept">{e(u["cookie_accept"])}</button> '
        f'<a href="{ctx.page("privacy")}">{e(u["cookie_more"])}</a></div>\n'
    )


def _nav_items(ctx: Ctx, li_class: str = "") -> str:
    cls = f' class="{li_class}"' if li_class else ""
    items = [f'<li{cls}><a href="{ctx.root}">{e(ctx.ui["home"])}</a></li>']
    items += [f'<li{cls}><a href="{href}">{e(label)}</a></li>' for label, href in ctx.nav]
    return "".join(items)


def _languages(ctx: Ctx) -> str:
    if not ctx.other_languages:
        return ""
    links = " ".join(
        f'<a href="{href}" hreflang="{code}">{code.upper()}</a>'
        for code, href in ctx.other_languages
    )
    return f'<div class="lang-switch">{links}</div>'


def _search(ctx: Ctx) -> str:
    return (
        f'<form class="search-form" action="{ctx.root}search" method="get" role="search">'
        f'<input type="search" name="q" placeholder="{e(ctx.ui["search"])}" '
        f'aria-label="{e(ctx.ui["search"])}"><button type="submit">{e(ctx.ui["search"])}'
        "</button></form>"
    )


def _newsletter(ctx: Ctx, css: str = "newsletter") -> str:
    u = ctx.ui
    return (
        f'<div class="{css}"><h3>{e(u["newsletter_title"])}</h3><p>{e(u["newsletter_text"])}</p>'
        f'<form action="{ctx.root}newsletter" method="post">'
        f'<input type="email" name="email" placeholder="{e(u["email_placeholder"])}" required>'
        f'<button type="submit">{e(u["newsletter_button"])}</button></form></div>\n'
    )


def _footer_links(ctx: Ctx) -> str:
    u = ctx.ui
    pairs = [
        (u["about"], ctx.page("about")),
        (u["contact"], ctx.page("contact")),
        (u["privacy"], ctx.page("privacy")),
        (u["terms"], ctx.page("terms")),
        ("RSS" if ctx.outlet.feed_format == "rss" else "Atom", ctx.feed_url),
    ]
    return " ".join(f'<a href="{e(href)}">{e(label)}</a>' for label, href in pairs)


def _copyright(ctx: Ctx) -> str:
    return f"© {ctx.year} {e(ctx.name)}. {e(ctx.ui['rights'])}"


def _breadcrumbs(ctx: Ctx, section_label: str, section_href: str, css="breadcrumb") -> str:
    return (
        f'<nav aria-label="breadcrumb"><ol class="{css}" itemscope '
        'itemtype="https://schema.org/BreadcrumbList">'
        f'<li itemprop="itemListElement"><a href="{ctx.root}">{e(ctx.ui["home"])}</a></li>'
        f'<li itemprop="itemListElement"><a href="{section_href}">{e(section_label)}</a></li>'
        "</ol></nav>\n"
    )


def _link_list(links: Sequence[Link], ordered: bool = False, query: str = "") -> str:
    tag = "ol" if ordered else "ul"
    items = "".join(
        f'<li><a href="{e(link.href + query)}">{e(link.title)}</a></li>' for link in links
    )
    return f"<{tag}>{items}</{tag}>"


def _byline(ctx: Ctx, name: str) -> str:
    prefix = ctx.ui["byline_prefix"]
    return f"{e(prefix)} {e(name)}".strip()


def _paras(paragraphs: Sequence[str], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return "".join(f"<p{cls}>{e(p)}</p>\n" for p in paragraphs)


# --------------------------------------------------------------------------- shells


def _shell(ctx: Ctx, head: str, main: str, sidebar: str) -> str:
    family = ctx.outlet.family
    u = ctx.ui
    if family == "broadsheet":
        return (
            f'{head}<body class="broadsheet">\n{_cookie(ctx)}'
            '<header class="site-header">'
            f'<div class="topbar"><span class="hotline">Hotline: 1900 6868</span>'
            f'{_languages(ctx)}<a class="rss" href="{e(ctx.feed_url)}">RSS</a></div>'
            f'<div class="masthead"><a class="logo" href="{ctx.root}">{e(ctx.name)}</a>'
            f'<p class="tagline">{e(ctx.tagline)}</p></div>'
            f'<nav class="main-nav"><ul class="menu">{_nav_items(ctx, "menu-item")}</ul>'
            f"{_search(ctx)}</nav></header>\n"
            f'<div class="container"><div class="row"><div class="col-main">\n{main}</div>\n'
            f'<aside class="col-side">{sidebar}{_newsletter(ctx, "box newsletter")}</aside>'
            "</div></div>\n"
            f'<footer class="site-footer"><div class="footer-links">{_footer_links(ctx)}</div>'
            f'<p class="copyright">{_copyright(ctx)}</p></footer>\n</body>\n</html>\n'
        )
    if family == "magazine":
        return (
            f'{head}<body class="magazine">\n'
            f'<header class="header"><div class="header__brand"><a href="{ctx.root}" '
            f'class="brand">{e(ctx.name)}</a><span class="brand__tagline">{e(ctx.tagline)}'
            f"</span>{_languages(ctx)}</div>"
            f'<nav class="header__nav" aria-label="primary"><ul>{_nav_items(ctx)}</ul></nav>'
            f'<div class="header__tools">{_search(ctx)}</div></header>\n'
            f'<main id="content" class="layout">\n{main}'
            f'<aside class="layout__aside">{sidebar}</aside>\n</main>\n'
            f'<section class="signup">{_newsletter(ctx, "signup__box")}</section>\n'
            f'<footer class="footer"><nav class="footer__nav">{_footer_links(ctx)}</nav>'
            f'<div class="footer__social">{e(u["follow"])}: '
            "<span>Facebook</span> · <span>YouTube</span> · <span>Zalo</span></div>"
            f'<p class="footer__legal">{_copyright(ctx)}</p></footer>\n'
            f"{_cookie(ctx, 'consent consent--bottom')}</body>\n</html>\n"
        )
    if family == "blog":
        return (
            f'{head}<body class="blog wp-theme-riverside">\n<div id="page" class="site">\n'
            f'<header id="masthead" class="site-header"><p class="site-title"><a href="{ctx.root}" '
            f'rel="home">{e(ctx.name)}</a></p><p class="site-description">{e(ctx.tagline)}</p>'
            f"{_languages(ctx)}"
            f'<nav id="site-navigation" class="main-navigation"><ul id="primary-menu">'
            f"{_nav_items(ctx, 'menu-item')}</ul></nav></header>\n"
            f'<div id="content" class="site-content"><div id="primary" class="content-area">'
            f'<main id="main" class="site-main">\n{main}</main></div>\n'
            f'<aside id="secondary" class="widget-area"><section class="widget widget_search">'
            f"{_search(ctx)}</section>{sidebar}"
            f'<section class="widget widget_newsletter">{_newsletter(ctx, "mc4wp-form")}'
            "</section></aside></div>\n"
            f'<footer id="colophon" class="site-footer"><div class="site-info">'
            f"{_footer_links(ctx)}<br>{_copyright(ctx)} · Powered by a small static theme"
            f"</div></footer>\n</div>\n{_cookie(ctx, 'cookie-notice-container')}</body>\n</html>\n"
        )
    # wire
    return (
        f'{head}<body class="wire">\n{_cookie(ctx, "wire-cookie")}'
        f'<div class="wire-top"><a class="wire-logo" href="{ctx.root}">{e(ctx.name)}</a>'
        f'<span class="wire-tagline">{e(ctx.tagline)}</span>{_languages(ctx)}'
        f"{_search(ctx)}</div>\n"
        f'<div class="wire-nav"><ul>{_nav_items(ctx)}</ul></div>\n'
        f'<div class="wire-page"><div class="wire-main">\n{main}</div>\n'
        f'<div class="wire-rail">{sidebar}{_newsletter(ctx, "wire-alerts")}</div></div>\n'
        f'<footer class="wire-footer"><p>{e(u["wire_credit"])}</p><p>{_footer_links(ctx)}</p>'
        f"<p>{_copyright(ctx)}</p></footer>\n</body>\n</html>\n"
    )


def _sidebar(ctx: Ctx, most_read: Sequence[Link]) -> str:
    if not most_read:
        return ""
    family = ctx.outlet.family
    title = e(ctx.ui["most_read"])
    if family == "blog":
        return (
            f'<section class="widget widget_recent_entries"><h2 class="widget-title">{title}</h2>'
            f"{_link_list(most_read)}</section>"
        )
    if family == "magazine":
        return f'<div class="popular"><h2>{title}</h2>{_link_list(most_read, True)}</div>'
    if family == "wire":
        return f'<div class="wire-box"><h4>{e(ctx.ui["latest"])}</h4>{_link_list(most_read)}</div>'
    return f'<div class="box most-read"><h3>{title}</h3>{_link_list(most_read, True)}</div>'


# --------------------------------------------------------------------------- articles


def render_article(
    ctx: Ctx,
    view: ArticleView,
    related: Sequence[Link],
    most_read: Sequence[Link],
    empty: bool = False,
) -> str:
    """An article page; with `empty`, only the chrome (the article text failed to render)."""
    title = f"{view.title} | {ctx.name}" if not empty else ctx.name
    if empty:  # the CMS lost the text: nothing but the outlet's own description is left
        view = replace(view, summary=ctx.tagline)
    extra = _article_meta(ctx, view)
    if ctx.outlet.family in ("broadsheet", "wire") and not empty:
        extra += _json_ld(ctx, view)
    head = _head(
        ctx, title, view.canonical, view.summary, extra, og_type="article", og_title=view.title
    )
    iso = view.published_at.isoformat()
    when = e(display_time(view.published_at, ctx.language))
    byline = _byline(ctx, view.byline)
    family = ctx.outlet.family
    related_title = e(ctx.ui["related"])
    crumbs = _breadcrumbs(ctx, view.section_label, view.section_href)
    if family == "broadsheet":
        body = (
            ""
            if empty
            else (
                f'<h1 class="title-detail">{e(view.title)}</h1>\n'
                f'<div class="header-detail"><span class="author">{byline}</span> '
                f'<span class="date"><time datetime="{iso}">{when}</time></span></div>\n'
                f'<div class="fck_detail">\n{_paras(view.paragraphs, "Normal")}</div>\n'
                f'<div class="share-tool">{e(ctx.ui["share"])}: <a href="#">Facebook</a> '
                '<a href="#">Zalo</a> <a href="#">X</a></div>\n'
            )
        )
        main = (
            f"{crumbs}"
            f'<article class="article-detail">\n{body}</article>\n'
            f'<section class="box-related"><h2>{related_title}</h2>{_link_list(related)}'
            "</section>\n"
        )
    elif family == "magazine":
        body = (
            ""
            if empty
            else (
                f'<header class="story__header"><p class="story__kicker">'
                f"{e(view.section_label)}</p>"
                f'<h1 class="story__title" itemprop="headline">{e(view.title)}</h1>'
                f'<div class="story__meta"><span class="story__author" itemprop="author">'
                f'{byline}</span> · <time itemprop="datePublished" datetime="{iso}">{when}</time>'
                "</div></header>\n"
                f'<div class="story__body" itemprop="articleBody">\n{_paras(view.paragraphs)}'
                "</div>\n"
            )
        )
        main = (
            f'<div class="layout__main">{crumbs}'
            '<article class="story" itemscope itemtype="https://schema.org/NewsArticle">\n'
            f"{body}</article>\n"
            f'<section class="story__related"><h2>{related_title}</h2>'
            f"{_link_list(related, query='?ref=related')}</section></div>\n"
        )
    elif family == "blog":
        body = (
            ""
            if empty
            else (
                f'<header class="entry-header"><h1 class="entry-title">{e(view.title)}</h1>'
                f'<div class="entry-meta"><span class="posted-on"><time class="entry-date '
                f'published" datetime="{iso}">{when}</time></span> <span class="byline">'
                f'<span class="author vcard">{byline}</span></span></div></header>\n'
                f'<div class="entry-content">\n{_paras(view.paragraphs)}</div>\n'
                f'<footer class="entry-footer"><span class="cat-links">'
                f'{e(ctx.ui["categories"])}: <a href="{view.section_href}" rel="category tag">'
                f"{e(view.section_label)}</a></span></footer>\n"
            )
        )
        main = (
            f'{crumbs}<article class="post type-post status-publish hentry">\n{body}</article>\n'
            f'<nav class="post-navigation related-posts"><h2>{related_title}</h2>'
            f"{_link_list(related)}</nav>\n"
            f'<div id="comments" class="comments-area"><p class="no-comments">'
            f"{e(ctx.ui['comments_closed'])}</p></div>\n"
        )
    else:  # wire
        body = (
            ""
            if empty
            else (
                f'<div class="story-slug">{e(ctx.outlet.short.upper())} · '
                f"{e(view.section_label.upper())}</div>\n"
                f'<h1 class="story-headline">{e(view.title)}</h1>\n'
                f'<div class="story-meta"><span class="story-byline">{byline}</span> | '
                f'<time class="story-time" datetime="{iso}">{when}</time></div>\n'
                f'<div class="story-body">\n{_paras(view.paragraphs)}</div>\n'
                f'<div class="story-keywords">{e(ctx.ui["tags"])}: '
                + ", ".join(e(t) for t in view.tags)
                + "</div>\n"
            )
        )
        main = (
            f'{crumbs}<div class="story">\n{body}</div>\n'
            f'<div class="story-related"><h3>{related_title}</h3>{_link_list(related)}</div>\n'
        )
    return _shell(ctx, head, main, _sidebar(ctx, most_read))


# --------------------------------------------------------------------------- listings, misc


def render_listing(
    ctx: Ctx,
    heading: str,
    canonical: str,
    links: Sequence[Link],
    most_read: Sequence[Link],
    notice: str = "",
    is_home: bool = False,
) -> str:
    """A homepage or section page: a list of article teasers."""
    title = ctx.name if is_home else f"{heading} | {ctx.name}"
    head = _head(ctx, title, canonical, ctx.tagline)
    items = []
    for link in links:
        when = (
            f'<time datetime="{link.when.isoformat()}">{e(display_time(link.when, ctx.language))}'
            "</time>"
            if link.when
            else ""
        )
        items.append(
            f'<li class="teaser"><h3 class="teaser__title"><a href="{e(link.href)}">'
            f"{e(link.title)}</a></h3>{when}<p>{e(link.summary)}</p></li>"
        )
    if not items:
        items.append(f'<li class="teaser teaser--empty">{e(ctx.ui["empty_section"])}</li>')
    notice_html = f'<div class="site-notice">{e(notice)}</div>' if notice else ""
    main = (
        f'{notice_html}<section class="listing"><h1 class="listing__title">{e(heading)}</h1>'
        f'<ul class="listing__items">{"".join(items)}</ul></section>\n'
    )
    return _shell(ctx, head, main, _sidebar(ctx, most_read))


def render_static(ctx: Ctx, heading: str, text: str, canonical: str) -> str:
    head = _head(ctx, f"{heading} | {ctx.name}", canonical, text)
    main = f'<section class="static-page"><h1>{e(heading)}</h1><p>{e(text)}</p></section>\n'
    return _shell(ctx, head, main, "")


def render_not_found(language: str, heading: str, text: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head><meta charset="utf-8">'
        f"<title>404 — {e(heading)}</title></head>\n<body><h1>{e(heading)}</h1>"
        f'<p>{e(text)}</p><p><a href="/">/</a></p></body>\n</html>\n'
    )


CSS = {
    "broadsheet": "body{font-family:Georgia,serif;margin:0}.container{max-width:1100px;margin:auto}"
    ".row{display:flex;gap:24px}.col-main{flex:3}.col-side{flex:1}.menu{display:flex;gap:12px;"
    "list-style:none}.cookie-banner{position:fixed;bottom:0;background:#222;color:#fff}\n",
    "magazine": "body{font-family:Helvetica,Arial,sans-serif;margin:0}.layout{display:grid;"
    "grid-template-columns:3fr 1fr;gap:32px;max-width:1200px;margin:auto}.header__nav ul{display:"
    "flex;list-style:none;gap:16px}.consent{position:fixed;bottom:0;background:#fafafa}\n",
    "blog": "body{font-family:'Noto Serif',serif;background:#fdfcf8}#page{max-width:960px;margin:"
    "auto}.site-content{display:flex;gap:32px}#primary{flex:3}#secondary{flex:1}\n",
    "wire": "body{font-family:Arial,sans-serif;font-size:14px;margin:0}.wire-page{display:flex;"
    "gap:16px;padding:8px}.wire-main{flex:4}.wire-rail{flex:1;background:#f2f2f2}.wire-nav ul"
    "{display:flex;list-style:none;gap:8px;background:#003366}.wire-nav a{color:#fff}\n",
}
