"""Mirror streams: the complete membership of some audiences, collected, proven, planned, applied.

``membership`` collects a stream's members and checks its proof, ``plan``
plans from one list scan, guards and writes at the end of input, ``sink``
feeds the membership from the input.
"""
