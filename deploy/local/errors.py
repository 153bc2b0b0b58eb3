"""Errors the local runtime reports to a person: one clear line naming the problem and the fix."""


class RuntimeProblem(Exception):
    """A problem with the machine or the configuration that the user must fix; printed as one line."""
