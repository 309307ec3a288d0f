"""The parts of the job page (``pages/job.py``): live status, recovery of an unsure submission, details."""
