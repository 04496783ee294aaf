"""The web pages' fixtures (:mod:`support.web`) for the end-to-end tests that drive a browser."""

from support.web import (  # noqa: F401
    browser,
    demo_dir,
    demo_template,
    fresh_site,
    module_site,
    page,
    shot,
    site,
)
