"""althan.duis"""
