"""What the code generated from openapi.yaml runs on: the parts that never change with the contract.

The generated modules import it, and `impl/` may; it imports neither, so a value the contract
decides reaches it only as an argument.
"""
