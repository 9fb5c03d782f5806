"""Readiness: will a page reach someone, now and over the coming week?"""
