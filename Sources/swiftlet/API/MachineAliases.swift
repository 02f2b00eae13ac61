import Machine

// `MachineConfiguration` exists in both Machine and ControlAPI (the API's request body), and
// `Machine.X` names the class, not the module; this file sees only Machine's.
typealias VMBuildConfiguration = MachineConfiguration
