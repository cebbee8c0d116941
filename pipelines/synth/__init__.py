"""Deterministic synthetic ketamine-clinic data (patients, infusion sessions, scale scores).

    from pipelines.synth import generate_clinic
    generate_clinic(Path("data/synthetic"), n_patients=300, seed=7, messy=True)
"""

from .clinic import generate_clinic

__all__ = ["generate_clinic"]
