"""althan.zigbee"""
