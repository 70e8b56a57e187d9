"""One date format per language, everywhere (settings.FORMAT_MODULE_PATH points here).

Django's English defaults mix "Dec. 2, 2026" with "12/02/2026"; the portal shows "2 Dec 2026" in
English and "02.12.2026" in German, and months as "December 2026" / "Dezember 2026". Templates use
the named formats (`|date` without an argument, `|date:"SHORT_DATE_FORMAT"`, the `month` filter
of `benefitsync.lib.template_filters`), never a literal pattern.
"""
