"""Reports and case files for people outside the chat: ``c2p-bot report`` (HTML with inline SVG
charts, or CSV) and ``c2p-bot export-case`` (one alert's case sealed to an organisation's key).

The figures come from :mod:`c2p_bot.core.report_data` and the case from
:mod:`c2p_bot.core.case_file`; this package renders, seals and writes files. Written in English.
"""
