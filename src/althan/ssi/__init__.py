"""althan.ssi"""
