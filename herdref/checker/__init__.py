"""herdref validate: black-box checks of any herd over TCP (see ``herdref.tools.validate``).

The checker never imports the reference server: it starts processes and talks TCP only.
"""
