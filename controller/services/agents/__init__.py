"""Agents: the certmgr-agent processes on target servers, as the controller sees them.

Owns: enrolment and authentication of signed requests (``enrolment``), their work queue of
installs (``work``), keys made on the agent (``key_on_agent``), auto-install after a renewal (``auto_install``), reports
and inventories (``inventory``), wake-ups of long-polls (``wakeups``), and the controller identity
they pin (``identity``).
"""
