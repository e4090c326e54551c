import sys
from pathlib import Path

# make `covid_triage` importable when pytest runs from training/ or the repo root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
