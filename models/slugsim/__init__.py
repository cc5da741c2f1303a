"""slugsim: an architecture simulator for CXL fabrics with EMC record & replay."""

__version__ = "0.1.0"
