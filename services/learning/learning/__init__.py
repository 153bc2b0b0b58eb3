"""Learning service: programmes, sessions, enrolment with waitlist, attendance, certificates, funnel."""
