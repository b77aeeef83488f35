"""althan.supplier"""
