"""COVID-19 CT triage model code (Goncharov et al.). Demonstration only, not for clinical use."""
