// The umbrella: one import gives the whole stack.
@_exported import OCISpec
@_exported import OCIHashing
@_exported import ImageStore
@_exported import Registry
@_exported import Sandbox
@_exported import CaissonNetwork
