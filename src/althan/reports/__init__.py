"""althan.reports"""
