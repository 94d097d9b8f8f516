"""Settlement records (落户登记): who settled in town, when, where and how (issue 13).

R12 in the structure: this package depends on people; no registry module imports it, and the
marketplace reaches it only through the R14 flagger wired in ``create_app``. No right, version,
certificate or membership is read or written here except to find the holders a flag concerns.
"""
