// Readiness probe for the local test broker (scripts/stack/services/kafka.sh).
// An open port is not enough: exit 0 only when a DescribeCluster round trip
// succeeds, the broker reports a controller, and (if given) the cluster id is ours,
// so a foreign broker on the same port is never mistaken for the one we started.
//   java -cp <probe-dir>:kafka-clients.jar:slf4j-api.jar KafkaReady <bootstrap> [clusterId]
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;

public final class KafkaReady {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: KafkaReady <bootstrap> [clusterId]");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    // Fail fast: the caller polls, so one slow attempt must not stall it.
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 4000);
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200);
    int rc = 1;
    try (Admin admin = Admin.create(p)) {
      DescribeClusterResult r = admin.describeCluster();
      String id = r.clusterId().get(5, TimeUnit.SECONDS);
      Node controller = r.controller().get(5, TimeUnit.SECONDS);
      int nodes = r.nodes().get(5, TimeUnit.SECONDS).size();
      if (args.length > 1 && !args[1].equals(id)) {
        System.err.println("cluster id " + id + " is not ours (" + args[1] + ")");
      } else if (controller == null || controller.isEmpty() || nodes == 0) {
        System.err.println("no controller or no brokers yet");
      } else {
        System.out.println("ready: cluster " + id + ", " + nodes + " broker(s), controller " + controller.id());
        rc = 0;
      }
    } catch (Exception e) {
      System.err.println("not ready: " + e);
    }
    // Admin.close() already waited for its threads; exit explicitly anyway.
    System.exit(rc);
  }
}
