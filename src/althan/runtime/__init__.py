"""althan.runtime"""
