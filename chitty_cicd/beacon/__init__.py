"""ChittyBeacon wiring: the beacon dependency or module and its import at the entry point."""
