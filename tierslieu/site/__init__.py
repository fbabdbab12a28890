"""Site descriptions: a YAML file describing a whole site (spaces, resources, devices, printers)."""

from tierslieu.site.loader import LoadReport, load_site
from tierslieu.site.schema import SiteFile, SiteProblem, check_site_file, parse_site_text

__all__ = ["LoadReport", "SiteFile", "SiteProblem", "check_site_file", "load_site", "parse_site_text"]
