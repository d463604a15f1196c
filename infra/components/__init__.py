"""One ComponentResource per part of relay; each takes a ``@dataclass`` Args and never reads config."""
from infra.components.alarms import Alarms, AlarmsArgs
from infra.components.automation_pipeline import AutomationPipeline, AutomationPipelineArgs, JobQueueSettings
from infra.components.dead_letters import DeadLetterQueues, DeadLetterQueuesArgs
from infra.components.dependency_layer import DependencyLayer, DependencyLayerArgs
from infra.components.email_feedback import EmailFeedback, EmailFeedbackArgs
from infra.components.http_api import HttpApi, HttpApiArgs
from infra.components.message_log import MessageLog, MessageLogArgs, StreamMappingSettings
from infra.components.python_function import FunctionDefaults, PythonFunction, PythonFunctionArgs
from infra.components.request_routing import RequestRouting, RequestRoutingArgs, Route
from infra.components.request_store import RequestStore, RequestStoreArgs
from infra.components.send_pipeline import SendPipeline, SendPipelineArgs
from infra.components.stage_outputs import StageOutputs, StageOutputsArgs
from infra.components.state_store import StateStore, StateStoreArgs
from infra.components.tables import TableSettings

__all__ = [
    "Alarms", "AlarmsArgs", "AutomationPipeline", "AutomationPipelineArgs", "JobQueueSettings",
    "DeadLetterQueues", "DeadLetterQueuesArgs", "DependencyLayer", "DependencyLayerArgs", "EmailFeedback",
    "EmailFeedbackArgs", "HttpApi",
    "HttpApiArgs", "MessageLog", "MessageLogArgs", "StreamMappingSettings", "FunctionDefaults",
    "PythonFunction", "PythonFunctionArgs", "RequestRouting", "RequestRoutingArgs", "Route", "RequestStore",
    "RequestStoreArgs", "SendPipeline", "SendPipelineArgs", "StageOutputs", "StageOutputsArgs", "StateStore",
    "StateStoreArgs", "TableSettings",
]
