"""Agents: the certmgr-agent processes on target servers, as the controller sees them.

Owns: enrolment and authentication of signed requests, their work queue (installs and key
generation), reports and inventories, wake-ups of long-polls, and the controller identity they pin.
"""
