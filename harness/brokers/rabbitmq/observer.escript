#!/usr/bin/env escript
%% -*- erlang -*-
%%! -hidden -dist_listen false -start_epmd false
%% The RabbitMQ cluster's own view for Aftershock's observer (harness/brokers/rabbitmq/observation.py):
%% a hidden Erlang node that only dials out (it listens nowhere and registers with no epmd), started
%% once per run, so a look costs a few RPCs over open connections instead of a rabbitmqctl VM.
%%
%% Arguments: SelfName shortnames|longnames Node...; the cookie is the run's, read from $HOME.
%% Each line read on stdin is a look; its answer is one line per fact, then "end":
%%   fact<TAB>subject<TAB>attribute<TAB>value     (lists joined by ';', node names as given)
%% Every node is asked what it sees (running nodes, members, partitions, alarms), all at once, each
%% call within ?TIMEOUT: a paused node answers "timeout", a killed one "down". The queues (type,
%% leader, members, consumers, state) are read from the node that sees the most nodes running (the first
%% such, in the order given).
-mode(compile).

-define(TIMEOUT, 2000).

main([Self, Names | Nodes]) ->
    {ok, _} = net_kernel:start([list_to_atom(Self), list_to_atom(Names)]),
    loop([list_to_atom(N) || N <- Nodes]);
main(_) ->
    io:format(standard_error, "usage: observer.escript SelfName shortnames|longnames Node...~n", []),
    halt(2).

loop(Nodes) ->
    case io:get_line("") of
        eof -> halt(0);
        {error, _} -> halt(0);
        _ ->
            look(Nodes),
            io:format("end~n"),
            loop(Nodes)
    end.

look(Nodes) ->
    Parent = self(),
    Refs = [begin
                Ref = make_ref(),
                spawn(fun() -> Parent ! {Ref, node_facts(N)} end),
                Ref
            end || N <- Nodes],
    Answers = [receive {Ref, Facts} -> Facts after 3 * ?TIMEOUT -> {"timeout", 0, [{"answers", "timeout"}]} end
               || Ref <- Refs],
    lists:foreach(fun({N, {_, _, Facts}}) -> [fact("node:" ++ name(N), A, V) || {A, V} <- Facts] end,
                  lists:zip(Nodes, Answers)),
    %% the queues as the node that sees the most nodes running says: a minority node (paused by
    %% pause_minority, or cut off) keeps a stale record of them
    case lists:sort(fun({_, A}, {_, B}) -> A >= B end,
                    [{N, Count} || {N, {yes, Count, _}} <- lists:zip(Nodes, Answers)]) of
        [{Best, _} | _] -> queue_facts(Best);
        [] -> ok
    end.

%% What node N says of the cluster: {Answers, [{Attribute, Value}]}.
node_facts(N) ->
    case first_of(N, [{rabbit_nodes, list_running, []}, {rabbit_nodes, all_running, []}]) of
        {ok, Running} ->
            Members = first_of(N, [{rabbit_nodes, list_members, []}, {rabbit_nodes, all, []}]),
            Partitions = call(N, rabbit_node_monitor, partitions, []),
            Alarms = call(N, rabbit_alarm, get_alarms, []),
            Count = case is_list(Running) of true -> length(Running); false -> 0 end,
            {yes, Count, [{"answers", "yes"}, {"running", names(Running)}, {"members", names_or(Members)},
                          {"partitions", names_or(Partitions)}, {"alarms", alarms(Alarms)}]};
        {error, Why} ->
            {Why, 0, [{"answers", Why}]}
    end.

queue_facts(N) ->
    case call(N, rabbit_amqqueue, list, [<<"/">>]) of
        {ok, Queues} -> [queue(N, Q) || Q <- Queues];
        {error, Why} -> fact("queues", "error", Why)
    end.

queue(N, Q) ->
    {ok, {resource, _, queue, Name}} = call(N, amqqueue, get_name, [Q]),
    Subject = "queue:" ++ binary_to_list(Name),
    Type = case call(N, amqqueue, get_type, [Q]) of
               {ok, rabbit_quorum_queue} -> "quorum";
               {ok, rabbit_classic_queue} -> "classic";
               {ok, rabbit_stream_queue} -> "stream";
               {ok, Other} -> atom_to_list(Other);
               {error, _} -> "?"
           end,
    fact(Subject, "type", Type),
    fact(Subject, "leader", case call(N, amqqueue, get_pid, [Q]) of
                                {ok, {_, Node}} when is_atom(Node) -> name(Node);   % quorum: {RaName, LeaderNode}
                                {ok, Pid} when is_pid(Pid) -> name(node(Pid));      % classic: its process
                                {ok, _} -> "-";
                                {error, _} -> "?"
                            end),
    case Type of
        "quorum" -> fact(Subject, "members", case call(N, amqqueue, get_type_state, [Q]) of
                                                 {ok, #{nodes := Members}} -> names(Members);
                                                 _ -> "?"
                                             end);
        _ -> ok
    end,
    fact(Subject, "consumers", case call(N, rabbit_amqqueue, consumers, [Q]) of
                                   {ok, Consumers} when is_list(Consumers) ->
                                       lists:join(";", lists:usort([consumer(N, C) || C <- Consumers]));
                                   _ -> "?"
                               end),
    fact(Subject, "state", case call(N, amqqueue, get_state, [Q]) of
                               {ok, State} when is_atom(State) -> atom_to_list(State);
                               {ok, _} -> "?";
                               {error, _} -> "?"
                           end).

%% A consumer as <its connection's name>@<its channel>: a restarted consumer comes back on a new channel.
consumer(N, C) ->
    Channel = element(1, C),
    Name = case call(N, rabbit_channel, info, [Channel, [connection]]) of
               {ok, [{connection, Connection}]} ->
                   case call(N, rabbit_reader, info, [Connection, [client_properties]]) of
                       {ok, [{client_properties, Properties}]} ->
                           case lists:keyfind(<<"connection_name">>, 1, Properties) of
                               {_, longstr, Value} -> binary_to_list(Value);
                               _ -> "?"
                           end;
                       _ -> "?"
                   end;
               _ -> "?"
           end,
    Name ++ "@" ++ pid_to_list(Channel).

%% The first of the calls the node's release exports (an older one lacks the newer name).
first_of(_, []) -> {error, "error"};
first_of(N, [{M, F, A} | Rest]) ->
    case call(N, M, F, A) of
        {error, "undefined"} -> first_of(N, Rest);
        Answer -> Answer
    end.

call(N, M, F, A) ->
    try erpc:call(N, M, F, A, ?TIMEOUT) of
        Value -> {ok, Value}
    catch
        error:{erpc, noconnection} -> {error, "down"};
        error:{erpc, timeout} -> {error, "timeout"};
        error:undef -> {error, "undefined"};
        error:{exception, undef, _} -> {error, "undefined"};
        _:_ -> {error, "error"}
    end.

names(Nodes) when is_list(Nodes) -> lists:join(";", [name(N) || N <- lists:sort(Nodes)]);
names(_) -> "?".

names_or({ok, Nodes}) -> names(Nodes);
names_or({error, _}) -> "?".

alarms({ok, Alarms}) when is_list(Alarms) ->
    lists:join(";", lists:usort([alarm(A) || A <- Alarms]));
alarms(_) -> "?".

alarm({{resource_limit, Resource, Node}, _}) -> atom_to_list(Resource) ++ "@" ++ name(Node);
alarm({Name, _}) when is_atom(Name) -> atom_to_list(Name);
alarm(_) -> "other".

name(Node) -> atom_to_list(Node).

fact(Subject, Attribute, Value) ->
    io:format("fact\t~ts\t~ts\t~ts~n", [Subject, Attribute, Value]).
