"""Notices to the administrators: certificates about to expire and enrollments that failed, by email and
a signed webhook. Sits above ca, directory and profiles (it reads them); nothing below imports it.
"""
