// The parts of flyteidl2's messages the console reads, in their proto3 JSON form (field names
// in lowerCamelCase, enums by name, 64-bit integers as strings, times as RFC 3339 text).

export interface RunIdentifier {
  org?: string;
  project: string;
  domain: string;
  name: string;
}

export interface ActionIdentifier {
  run: RunIdentifier;
  name: string;
}

export interface EnrichedIdentity {
  user?: { id?: { subject?: string }; spec?: { firstName?: string; email?: string } };
  application?: { id?: { subject?: string }; spec?: { name?: string } };
}

export interface ActionMetadata {
  parent?: string;
  group?: string;
  executedBy?: EnrichedIdentity;
  task?: { id?: { name?: string; version?: string }; taskType?: string; shortName?: string };
  trace?: { name?: string };
  condition?: { name?: string; type?: LiteralType };
  actionType?: string;
  triggerName?: string;
  triggerId?: { name?: { name?: string } };
  relation?: { relatedTo?: RunIdentifier; relationType?: string };
  recoveredFrom?: ActionIdentifier;
  funtionName?: string;
  environmentName?: string;
}

export interface ActionStatus {
  phase?: string;
  startTime?: string;
  endTime?: string;
  attempts?: number;
  cacheStatus?: string;
  durationMs?: string;
}

export interface Action {
  id: ActionIdentifier;
  metadata?: ActionMetadata;
  status?: ActionStatus;
}

export interface EnrichedAction {
  action: Action;
  /** Phase number → how many of the action's children are in it (snapshot messages only). */
  childrenPhaseCounts?: Record<string, number>;
}

export interface Run {
  action: Action;
  labels?: Record<string, string>;
}

export interface ErrorInfo {
  message?: string;
  kind?: string;
  code?: string;
}

export interface AbortInfo {
  reason?: string;
  abortedBy?: EnrichedIdentity;
}

export interface PhaseTransition {
  phase?: string;
  startTime?: string;
  endTime?: string;
}

export interface ActionAttempt {
  phase?: string;
  startTime?: string;
  endTime?: string;
  errorInfo?: ErrorInfo;
  attempt?: number;
  outputs?: { outputUri?: string; reportUri?: string };
  logsAvailable?: boolean;
  cacheStatus?: string;
  clusterEvents?: { occurredAt?: string; message?: string; reason?: string }[];
  phaseTransitions?: PhaseTransition[];
  cacheMetadata?: { sourceActionAttempt?: { actionId?: ActionIdentifier; attempt?: number } };
}

export interface Duration {
  seconds?: string;
  nanos?: number;
}

export interface TaskSpec {
  taskTemplate?: {
    id?: { name?: string; version?: string };
    type?: string;
    metadata?: {
      discoverable?: boolean;
      discoveryVersion?: string;
      timeout?: string;
      retries?: { retries?: number; backoff?: { base?: string; factor?: number; cap?: string } };
      cacheSerializable?: boolean;
      cacheIgnoreInputVars?: string[];
      cacheMaxAge?: string;
      timeouts?: { queuedTimeout?: string; deadline?: string };
      interruptible?: boolean;
      generatesDeck?: boolean;
    };
    interface?: { inputs?: VariableMap; outputs?: VariableMap };
    container?: {
      image?: string;
      args?: string[];
      resources?: { requests?: ResourceEntry[]; limits?: ResourceEntry[] };
      env?: { key: string; value: string }[];
    };
  };
  shortName?: string;
  environment?: { name?: string; description?: string };
  documentation?: { shortDescription?: string };
}

export interface ResourceEntry {
  name?: string;
  value?: string;
}

export interface VariableMap {
  variables?: { key: string; value: { type?: LiteralType; description?: string } }[];
}

export interface ConditionAction {
  name?: string;
  type?: LiteralType;
  prompt?: string;
  description?: string;
  timeout?: string;
}

export interface ActionDetails {
  id: ActionIdentifier;
  metadata?: ActionMetadata;
  status?: ActionStatus;
  errorInfo?: ErrorInfo;
  abortInfo?: AbortInfo;
  signalInfo?: { signalledBy?: EnrichedIdentity; output?: Literal };
  task?: TaskSpec;
  trace?: unknown;
  condition?: ConditionAction;
  attempts?: ActionAttempt[];
}

export interface LiteralType {
  simple?: string;
  collectionType?: LiteralType;
  mapValueType?: LiteralType;
  blob?: { format?: string; dimensionality?: string };
  structuredDatasetType?: { format?: string; columns?: { name: string; literalType?: LiteralType }[] };
  unionType?: { variants?: LiteralType[] };
  enumType?: { values?: string[] };
}

export interface Literal {
  scalar?: Scalar;
  collection?: { literals?: Literal[] };
  map?: { literals?: Record<string, Literal> };
  offloadedMetadata?: { uri?: string; sizeBytes?: string };
}

export interface Scalar {
  primitive?: {
    integer?: string;
    floatValue?: number | string;
    stringValue?: string;
    boolean?: boolean;
    datetime?: string;
    duration?: string;
  };
  blob?: { uri?: string; metadata?: { type?: { format?: string; dimensionality?: string } } };
  binary?: { value?: string; tag?: string };
  noneType?: object;
  error?: { message?: string; failedNodeId?: string };
  generic?: unknown;
  structuredDataset?: {
    uri?: string;
    metadata?: { structuredDatasetType?: { format?: string; columns?: { name: string }[] } };
  };
  union?: { value?: Literal; type?: LiteralType };
  schema?: { uri?: string };
}

export interface NamedLiteral {
  name: string;
  value: Literal;
}

export interface ActionData {
  inputs?: { literals?: NamedLiteral[] };
  outputs?: { literals?: NamedLiteral[] };
}

export interface LogLine {
  timestamp?: string;
  message?: string;
  originator?: string;
}

export interface TailLogsResponse {
  logs?: { lines?: LogLine[] }[];
}

export interface Filter {
  function: string;
  field: string;
  values: string[];
}
