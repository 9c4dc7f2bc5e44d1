"""zoufang (走访): plan and track door-to-door visiting campaigns.

The distribution holds three libraries, ``geodata`` (files → clean frames,
matrices), ``planner`` (assignment, schedule, routes, coverage) and ``web``
(the Flask site); this package is the command line on top of them.
"""

__version__ = "0.1.0"
