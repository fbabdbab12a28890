"""3D printing: checking uploaded G-code and dispatching it to OctoPrint printers."""
