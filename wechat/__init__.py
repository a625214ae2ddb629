"""WeChat as infrastructure: the official-account API client (`wechat.api`), the access tokens every process shares
(`wechat.tokens`) and the local fake of the API that speaks its wire format (`wechat.fake`, for the demo and tests).

The chat edge (`bot/`) and the notification rules (`workflow/`) both use it; it imports neither.
"""
