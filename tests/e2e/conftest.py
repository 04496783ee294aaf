"""The web pages' fixtures (:mod:`support.web`) for the end-to-end tests that drive a browser."""

from support.web import browser, demo_dir, demo_template, page, shot, site  # noqa: F401
